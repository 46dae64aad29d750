import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/app/config.js';
import { AGENTX_RATE_LIMITS } from '../../src/core/rate-limits/rules.js';

const limitsOf = (flags: Parameters<typeof resolveConfig>[0], env: NodeJS.ProcessEnv = {}) => resolveConfig({ dataDir: '/tmp/x', ...flags }, env).rateLimits;

describe('rate-limit presets', () => {
  it('limits nothing by default: a self-hosted server has no request or publish budget', () => {
    expect(limitsOf({})).toEqual({ anonymous: null, user: null, publish: null });
  });

  it("brings agentx's hosted values back with one setting, by flag or environment", () => {
    expect(limitsOf({ rateLimits: 'agentx' })).toEqual(AGENTX_RATE_LIMITS);
    expect(limitsOf({}, { AGENTRY_RATE_LIMITS: 'AgentX' })).toEqual(AGENTX_RATE_LIMITS);
    expect(AGENTX_RATE_LIMITS).toEqual({
      anonymous: { limit: 60, windowMs: 60_000 },
      user: { limit: 120, windowMs: 60_000 },
      publish: { limit: 10, windowMs: 3_600_000 },
    });
  });

  it('lets a per-limit setting override a preset, and means custom on its own', () => {
    expect(limitsOf({ rateLimits: 'agentx', rateLimitUser: '300/min' })).toEqual({ ...AGENTX_RATE_LIMITS, user: { limit: 300, windowMs: 60_000 } });
    expect(limitsOf({ rateLimitPublish: '5' })).toEqual({ anonymous: null, user: null, publish: { limit: 5, windowMs: 3_600_000 } });
    expect(limitsOf({}, { AGENTRY_RATE_LIMIT_ANONYMOUS: '100/15m' })).toEqual({ anonymous: { limit: 100, windowMs: 900_000 }, user: null, publish: null });
    expect(limitsOf({ rateLimits: 'custom' })).toEqual({ anonymous: null, user: null, publish: null });
    expect(limitsOf({ rateLimits: 'agentx', rateLimitAnonymous: 'off' }).anonymous).toBeNull();
  });

  it('refuses an unknown preset and off beside a per-limit setting, saying what is accepted', () => {
    expect(() => limitsOf({ rateLimits: 'hosted' })).toThrow(/off, agentx, custom/);
    expect(() => limitsOf({ rateLimits: 'off', rateLimitUser: '10/min' })).toThrow(/contradicts/);
    expect(() => limitsOf({ rateLimits: 'custom', rateLimitUser: 'lots' })).toThrow(/AGENTRY_RATE_LIMIT_USER/);
  });
});
