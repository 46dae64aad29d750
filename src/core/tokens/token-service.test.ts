import { mkdtempSync, rmSync } from 'node:fs';
import { dropTestSchema } from '../../../test/helpers/postgres.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStorage } from '../../storage/open-storage.js';
import type { RequestContext } from '../auth/principal.js';
import { AgentryError } from '../errors.js';
import { Registry } from '../registry.js';
import { EnvSecretStore } from '../secrets/env-secret-store.js';
import type { Storage } from '../storage.js';
import type { Clock } from '../time.js';

const DAY = 86_400_000;
const stores = process.env.AGENTRY_TEST_DATABASE_URL ? (['sqlite', 'postgres'] as const) : (['sqlite'] as const);

/** A clock the test moves by hand. */
class FakeClock implements Clock {
  constructor(private t: number) {}
  now(): Date {
    return new Date(this.t);
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

const refusal = async (p: Promise<unknown>): Promise<AgentryError> => {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(AgentryError);
    return e as AgentryError;
  }
  throw new Error('expected a refusal');
};

describe.each(stores)('TokenService with a fake clock (%s)', (store) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'agentry-tokens-'));
  const schema = store === 'postgres' ? `t_${randomBytes(6).toString('hex')}` : undefined;
  const clock = new FakeClock(Date.parse('2030-01-01T00:00:00.000Z'));
  let storage: Storage;
  let opened: Awaited<ReturnType<typeof openStorage>> | undefined;
  let registry: Registry;
  let admin: RequestContext;
  let user: RequestContext;

  const ctxOf = async (secret: string): Promise<RequestContext> => ({ principal: await registry.tokens.authenticate(secret), ip: null });

  beforeAll(async () => {
    opened = await openStorage({ dataDir, databaseUrl: store === 'postgres' ? process.env.AGENTRY_TEST_DATABASE_URL : undefined, databaseSchema: schema });
    storage = opened.storage;
    registry = new Registry({ storage, blobs: opened.blobs, limits: { maxUnpackedBytes: 1 << 20, maxFiles: 100, maxTextFileBytes: 1 << 16 }, clock, secretStore: new EnvSecretStore({}) });
    const boot = await registry.accounts.bootstrapAdmin(undefined);
    admin = await ctxOf(boot.secret!);
    const created = await registry.accounts.createUser(admin, { username: 'erin' });
    user = await ctxOf(created.token.secret);
  });
  afterAll(async () => {
    await storage?.close();
    await opened?.blobs.close?.();
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) {
      await dropTestSchema(schema);
    }
  });

  it('accepts a token until the instant it expires, then refuses it with 401 naming the expiry', async () => {
    const created = await registry.tokens.create(user, { name: 'one day', permission: 'read', expiresInDays: 1 });
    expect(created.record.expiresAt).toBe('2030-01-02T00:00:00.000Z');
    expect((await registry.tokens.authenticate(created.secret)).account.name).toBe('erin');
    clock.advance(DAY - 1);
    expect((await registry.tokens.authenticate(created.secret)).token.id).toBe(created.record.id);
    clock.advance(1);
    const e = await refusal(registry.tokens.authenticate(created.secret));
    expect([e.status, e.message]).toEqual([401, 'This token expired at 2030-01-02T00:00:00.000Z']);
    clock.advance(365 * DAY);
    expect((await refusal(registry.tokens.authenticate(created.secret))).status).toBe(401);
    // Tokens without an expiry keep working.
    expect((await registry.tokens.authenticate((await registry.tokens.create(user, { name: 'forever', permission: 'read' })).secret)).token.expiresAt).toBeNull();
  });

  it('refuses invalid, unknown and revoked tokens with 401', async () => {
    for (const bad of ['', 'nope', 'agentry_short', `agentry_${'A'.repeat(43)}`, `Agentry_${'A'.repeat(43)}`, `agentry_${'A'.repeat(44)}`]) {
      const e = await refusal(registry.tokens.authenticate(bad));
      expect([e.status, e.message], bad).toEqual([401, 'Invalid token']);
    }
    const t = await registry.tokens.create(user, { name: 'to revoke', permission: 'read' });
    await registry.tokens.revoke(user, t.record.id);
    const e = await refusal(registry.tokens.authenticate(t.secret));
    expect([e.status, e.message]).toEqual([401, 'This token has been revoked']);
  });

  it('refuses expiries out of range with 400 and writes no token', async () => {
    const before = (await registry.tokens.list(user)).length;
    for (const days of [0, -1, 3651]) {
      const e = await refusal(registry.tokens.create(user, { name: 'bad expiry', permission: 'read', expiresInDays: days }));
      expect([e.status, e.message]).toEqual([400, 'expires_in_days must be between 1 and 3650']);
    }
    expect((await refusal(registry.tokens.create(user, { name: '   ', permission: 'read' }))).message).toBe('Token name must be 1-100 characters');
    expect((await registry.tokens.list(user)).length).toBe(before);
  });

  it('never mints a token with more power or wider scopes than the caller', async () => {
    const reader = await ctxOf((await registry.tokens.create(user, { name: 'reader', permission: 'read' })).secret);
    const e1 = await refusal(registry.tokens.create(reader, { name: 'x', permission: 'publish' }));
    expect([e1.status, e1.message]).toEqual([403, "This token has 'read' permission; creating or revoking tokens and API keys needs a 'publish' or 'admin' token"]);
    const same = await refusal(registry.tokens.create(reader, { name: 'x', permission: 'read' }));
    expect(same.status).toBe(403);
    const other = await registry.tokens.create(user, { name: 'other', permission: 'read' });
    expect((await refusal(registry.tokens.revoke(reader, other.record.id))).status).toBe(403);
    expect((await registry.tokens.authenticate(other.secret)).token.revokedAt).toBeNull();
    const e2 = await refusal(registry.tokens.create(user, { name: 'x', permission: 'admin' }));
    expect([e2.status, e2.message]).toEqual([403, "A 'publish' token cannot create a 'admin' token"]);
    const scoped = await ctxOf((await registry.tokens.create(user, { name: 'scoped', permission: 'publish', scopes: ['@erin'] })).secret);
    const e3 = await refusal(registry.tokens.create(scoped, { name: 'x', permission: 'publish' }));
    expect([e3.status, e3.message]).toEqual([403, 'This token is restricted to @erin; it cannot create a token for (all scopes)']);
    const e4 = await refusal(registry.tokens.create(scoped, { name: 'x', permission: 'read', scopes: ['@erin', '@other'] }));
    expect(e4.message).toBe('This token is restricted to @erin; it cannot create a token for other');
    const e5 = await refusal(registry.tokens.create(user, { name: 'x', permission: 'read', scopes: ['@-bad-'] }));
    expect([e5.status, e5.message, e5.details]).toEqual([
      400,
      'Invalid token scopes',
      ["scope '@-bad-' is invalid: use 1-100 letters, digits, '-' or '.', starting and ending with a letter or digit"],
    ]);
    const e6 = await refusal(registry.tokens.create({ principal: null, ip: null }, { name: 'x', permission: 'read' }));
    expect(e6.status).toBe(401);
  });

  it("does not let a user revoke someone else's token", async () => {
    const adminToken = await registry.tokens.create(admin, { name: 'admin read', permission: 'read' });
    const e = await refusal(registry.tokens.revoke(user, adminToken.record.id));
    expect([e.status, e.message]).toEqual([404, `Token ${adminToken.record.id} not found`]);
    expect((await registry.tokens.authenticate(adminToken.secret)).token.revokedAt).toBeNull();
  });
});
