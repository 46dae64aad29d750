import { describe, expect, it } from 'vitest';
import { MemoryRateLimitStore } from '../../storage/memory/memory-rate-limit-store.js';
import { RateLimitedError, RateLimiter } from './rate-limiter.js';
import type { RateLimitStore } from './rate-limit-store.js';
import { AGENTX_RATE_LIMITS, describeRule, parseRateLimitRule } from './rules.js';

const clockAt = (start: number) => {
  let now = start;
  return { clock: { now: () => new Date(now) }, advance: (ms: number) => (now += ms), now: () => now };
};

describe('rate-limit rules', () => {
  it('reads what an operator writes, and says what it accepts when it cannot', () => {
    expect(parseRateLimitRule('X', '60/min', 1)).toEqual({ limit: 60, windowMs: 60_000 });
    expect(parseRateLimitRule('X', '10/hour', 1)).toEqual({ limit: 10, windowMs: 3_600_000 });
    expect(parseRateLimitRule('X', '100 / 15m', 1)).toEqual({ limit: 100, windowMs: 900_000 });
    expect(parseRateLimitRule('X', '5/30s', 1)).toEqual({ limit: 5, windowMs: 30_000 });
    expect(parseRateLimitRule('X', '2/day', 1)).toEqual({ limit: 2, windowMs: 86_400_000 });
    expect(parseRateLimitRule('X', '42', 60_000)).toEqual({ limit: 42, windowMs: 60_000 });
    expect(parseRateLimitRule('X', 'off', 1)).toBeNull();
    for (const bad of ['-1/min', 'lots', '10/fortnight', '10/0s', '1.5/min', '']) {
      expect(() => parseRateLimitRule('AGENTRY_RATE_LIMIT_USER', bad, 60_000), bad).toThrow(/AGENTRY_RATE_LIMIT_USER must/);
    }
    expect(describeRule(AGENTX_RATE_LIMITS.anonymous)).toBe('60 per minute');
    expect(describeRule(AGENTX_RATE_LIMITS.publish)).toBe('10 per hour');
    expect(describeRule({ limit: 100, windowMs: 900_000 })).toBe('100 per 15 minutes');
  });
});

describe('RateLimiter', () => {
  it('counts per subject in fixed windows aligned to the clock, and resets with the window', async () => {
    const t = clockAt(Date.UTC(2026, 0, 1, 12, 0, 50));
    const limiter = new RateLimiter(new MemoryRateLimitStore(t.now), { anonymous: { limit: 2, windowMs: 60_000 }, user: { limit: 3, windowMs: 60_000 }, publish: null }, t.clock);
    expect(await limiter.check({ ip: '1.2.3.4' })).toMatchObject({ allowed: true, limit: 2, remaining: 1, resetSeconds: 10 });
    expect(await limiter.check({ ip: '1.2.3.4' })).toMatchObject({ allowed: true, remaining: 0 });
    expect(await limiter.check({ ip: '1.2.3.4' })).toMatchObject({ allowed: false, remaining: 0, rule: 'anonymous' });
    expect(await limiter.check({ ip: '5.6.7.8' })).toMatchObject({ allowed: true, remaining: 1 });
    expect(await limiter.check({ account: 1 })).toMatchObject({ allowed: true, limit: 3, remaining: 2 });
    t.advance(10_000);
    expect(await limiter.check({ ip: '1.2.3.4' })).toMatchObject({ allowed: true, remaining: 1, resetSeconds: 60 });
    await expect(limiter.requirePublishBudget(1)).resolves.toBeUndefined();
  });

  it('refuses a publish over its budget with the decision that binds', async () => {
    const t = clockAt(Date.UTC(2026, 0, 1, 12, 0, 0));
    const limiter = new RateLimiter(new MemoryRateLimitStore(t.now), { ...AGENTX_RATE_LIMITS, publish: { limit: 1, windowMs: 3_600_000 } }, t.clock);
    await limiter.requirePublishBudget(7);
    const e = await limiter.requirePublishBudget(7).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RateLimitedError);
    const err = e as RateLimitedError;
    expect(err.status).toBe(429);
    expect(err.decision).toMatchObject({ rule: 'publish', limit: 1, remaining: 0, resetSeconds: 3600 });
    expect(err.message).toBe('Rate limit exceeded: publishes per user are limited to 1 per hour; retry in 3600 s');
    await limiter.requirePublishBudget(8);
  });

  it('lets requests through, and says so, when its store fails', async () => {
    const broken: RateLimitStore = { kind: 'redis', increment: () => Promise.reject(new Error('connection refused')), close: async () => undefined };
    const seen: unknown[] = [];
    const limiter = new RateLimiter(broken, AGENTX_RATE_LIMITS, { now: () => new Date() }, (e) => seen.push(e));
    expect(await limiter.check({ ip: '1.2.3.4' })).toBeUndefined();
    await expect(limiter.requirePublishBudget(1)).resolves.toBeUndefined();
    expect(seen).toHaveLength(2);
  });

  it('keeps memory bounded: expired counters are swept', async () => {
    const t = clockAt(Date.UTC(2026, 0, 1));
    const store = new MemoryRateLimitStore(t.now);
    const limiter = new RateLimiter(store, { ...AGENTX_RATE_LIMITS, anonymous: { limit: 5, windowMs: 1000 } }, t.clock);
    for (let i = 0; i < 1000; i++) await limiter.check({ ip: `10.0.${i >> 8}.${i & 255}` });
    expect(store.size).toBe(1000);
    t.advance(5000);
    await limiter.check({ ip: '10.9.9.9' });
    expect(store.size).toBe(1);
  });
});
