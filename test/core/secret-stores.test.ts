import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envRootKeySource, fileRootKeySource } from '../../src/app/secret-keys.js';
import { BuiltinSecretStore } from '../../src/core/secrets/builtin-secret-store.js';
import { EnvSecretStore } from '../../src/core/secrets/env-secret-store.js';
import { open, parseRootKeys, rootKeyId, seal, toRootKey } from '../../src/core/secrets/root-keys.js';
import { VaultSecretStore } from '../../src/adapters/vault/vault-secret-store.js';
import { EgressPolicy } from '../../src/adapters/egress/index.js';
import { AgentryError } from '../../src/core/errors.js';
import type { Storage } from '../../src/core/storage.js';
import { systemClock } from '../../src/core/time.js';
import { openStorage } from '../../src/storage/open-storage.js';
import { dropTestSchema } from '../helpers/postgres.js';
import { testStores } from '../helpers/server.js';
import { startVaultKv2Server, type VaultKv2Server } from '../helpers/vault-kv2-server.js';

const VALUE = 'sk-test-value-9f2c1e0b7a';

describe('root keys', () => {
  it('parses base64, base64url and hex keys and names none of them in errors', () => {
    const key = randomBytes(32);
    expect(parseRootKeys(key.toString('base64'), 'X')[0]).toEqual(key);
    expect(parseRootKeys(key.toString('base64url'), 'X')[0]).toEqual(key);
    expect(parseRootKeys(`${key.toString('hex')}, ${key.toString('base64')}`, 'X')).toHaveLength(2);
    const bad = 'c2hvcnQ=';
    expect(() => parseRootKeys(bad, 'AGENTRY_SECRET_KEY')).toThrow(/AGENTRY_SECRET_KEY: key 1 is not a secret root key/);
    try {
      parseRootKeys(bad, 'AGENTRY_SECRET_KEY');
    } catch (e) {
      expect((e as Error).message).not.toContain(bad);
    }
    expect(() => parseRootKeys(' ', 'X')).toThrow(/holds no secret root key/);
  });

  it('seals with a fresh nonce each time and opens only with the same key and address', () => {
    const k = toRootKey(randomBytes(32));
    const a = seal(k, VALUE, 'addr');
    const b = seal(k, VALUE, 'addr');
    expect(a).not.toEqual(b);
    expect(Buffer.from(a, 'base64').toString('latin1')).not.toContain(VALUE);
    expect(open(k, a, 'addr')).toBe(VALUE);
    expect(open(k, a, 'other-addr')).toBeUndefined();
    expect(open(toRootKey(randomBytes(32)), a, 'addr')).toBeUndefined();
    const tampered = Buffer.from(a, 'base64');
    tampered[14] ^= 1;
    expect(open(k, tampered.toString('base64'), 'addr')).toBeUndefined();
    expect(rootKeyId(k.key)).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe.each(testStores)('built-in secret store (%s)', (store) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'agentry-secrets-'));
  const schema = store === 'postgres' ? `t_${randomBytes(6).toString('hex')}` : undefined;
  let storage: Storage;
  const keyFile = join(dataDir, 'secret.key');

  beforeAll(async () => {
    storage = (await openStorage({ dataDir, databaseUrl: store === 'postgres' ? process.env.AGENTRY_TEST_DATABASE_URL : undefined, databaseSchema: schema })).storage;
  });
  afterAll(async () => {
    await storage.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) await dropTestSchema(schema);
  });

  it('creates its key file with mode 0600 and keeps values encrypted at rest', async () => {
    const s = await BuiltinSecretStore.open(storage.secretValues, fileRootKeySource(keyFile), systemClock);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    await s.put('alice', 'agentspaces/default', 'OPENAI_API_KEY', VALUE);
    await s.put('alice', 'agentspaces/default', 'OTHER', 'x');
    await s.put('bob', 'agentspaces/default', 'OPENAI_API_KEY', 'bobs');
    expect(await s.get('alice', 'agentspaces/default', 'OPENAI_API_KEY')).toBe(VALUE);
    expect(await s.get('bob', 'agentspaces/default', 'OPENAI_API_KEY')).toBe('bobs');
    expect(await s.get('alice', 'agentspaces/other', 'OPENAI_API_KEY')).toBeUndefined();
    expect(await s.list('alice', 'agentspaces/default')).toEqual(['OPENAI_API_KEY', 'OTHER']);
    const row = await storage.secretValues.get('alice', 'agentspaces/default', 'OPENAI_API_KEY');
    expect(row?.keyId).toBe(s.activeKeyId);
    expect(row?.ciphertext).not.toContain(VALUE);
    expect(Buffer.from(row!.ciphertext, 'base64').toString('latin1')).not.toContain(VALUE);
    expect(await s.delete('alice', 'agentspaces/default', 'OTHER')).toBe(true);
    expect(await s.delete('alice', 'agentspaces/default', 'OTHER')).toBe(false);
    expect(await s.list('alice', 'agentspaces/default')).toEqual(['OPENAI_API_KEY']);
  });

  it('refuses addresses that could escape their tree', async () => {
    const s = await BuiltinSecretStore.open(storage.secretValues, fileRootKeySource(keyFile), systemClock);
    for (const [o, n, k] of [
      ['alice', '../x', 'K'],
      ['alice', 'a//b', 'K'],
      ['', 'a', 'K'],
      ['alice', 'a', '1BAD'],
      ['alice', 'a', 'A/B'],
    ]) {
      await expect(s.put(o, n, k, 'v')).rejects.toMatchObject({ status: 400 });
    }
  });

  it('refuses to open with a wrong root key, saying which key it needs', async () => {
    const wrong = randomBytes(32).toString('base64');
    const err = await BuiltinSecretStore.open(storage.secretValues, envRootKeySource(wrong), systemClock).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/Wrong secret root key/);
    expect((err as Error).message).toMatch(/refusing to start/);
    expect((err as Error).message).not.toContain(wrong);
    expect((err as Error).message).not.toContain(readFileSync(keyFile, 'utf8').trim());
  });

  it('rotates a key file: new key, every value re-encrypted and readable throughout, old key dropped', async () => {
    const s = await BuiltinSecretStore.open(storage.secretValues, fileRootKeySource(keyFile), systemClock);
    const before = s.activeKeyId;
    const oldFile = readFileSync(keyFile, 'utf8');
    const r = await s.rotate();
    expect(r.activeKeyId).not.toBe(before);
    expect(r.reencrypted).toBe(2);
    expect(r.retiredKeyIds).toEqual([before]);
    expect(await storage.secretValues.keyIdsInUse()).toEqual([r.activeKeyId]);
    expect(await s.get('alice', 'agentspaces/default', 'OPENAI_API_KEY')).toBe(VALUE);
    expect(readFileSync(keyFile, 'utf8').trim().split('\n')).toHaveLength(1);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    // The old key can no longer open this store; the new one can, from a fresh process.
    await expect(BuiltinSecretStore.open(storage.secretValues, envRootKeySource(oldFile), systemClock)).rejects.toThrow(/Wrong secret root key/);
    const again = await BuiltinSecretStore.open(storage.secretValues, fileRootKeySource(keyFile), systemClock);
    expect(await again.get('bob', 'agentspaces/default', 'OPENAI_API_KEY')).toBe('bobs');
  });

  it('rotates under AGENTRY_SECRET_KEY=new,old onto the first key', async () => {
    const current = readFileSync(keyFile, 'utf8').trim();
    const fresh = randomBytes(32).toString('base64');
    const s = await BuiltinSecretStore.open(storage.secretValues, envRootKeySource(`${fresh},${current}`), systemClock);
    // Readable before the rotation (old key still listed), and new writes use the new key.
    expect(await s.get('alice', 'agentspaces/default', 'OPENAI_API_KEY')).toBe(VALUE);
    const r = await s.rotate();
    expect(r.activeKeyId).toBe(rootKeyId(Buffer.from(fresh, 'base64')));
    expect(r.reencrypted).toBe(2);
    const only = await BuiltinSecretStore.open(storage.secretValues, envRootKeySource(fresh), systemClock);
    expect(await only.get('alice', 'agentspaces/default', 'OPENAI_API_KEY')).toBe(VALUE);
  });

  it('refuses a key file others can read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentry-keyfile-'));
    const f = join(dir, 'secret.key');
    writeFileSync(f, randomBytes(32).toString('base64'), { mode: 0o644 });
    await expect(fileRootKeySource(f).load()).rejects.toThrow(/readable by other users.*chmod 600/);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('environment secret store', () => {
  const env = { SECRET_OPENAI_API_KEY: 'general', SECRET_ALICE__AGENTSPACES_DEFAULT__OPENAI_API_KEY: 'specific', AGENTRY_ADMIN_TOKEN: 'never' };
  const s = new EnvSecretStore(env);

  it('reads the most specific variable first, then the general one', async () => {
    expect(await s.get('alice', 'agentspaces/default', 'OPENAI_API_KEY')).toBe('specific');
    expect(await s.get('alice', 'agentspaces/other', 'OPENAI_API_KEY')).toBe('general');
    expect(await s.get('alice', 'agentspaces/other', 'MISSING')).toBeUndefined();
    expect(await s.list('alice', 'agentspaces/default')).toEqual(['OPENAI_API_KEY']);
  });

  it('never reads the server configuration and is read-only', async () => {
    expect(await new EnvSecretStore(env, '').get('a', 'n', 'AGENTRY_ADMIN_TOKEN')).toBeUndefined();
    const err = await s.put('alice', 'n', 'K', 'v').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentryError);
    expect((err as AgentryError).message).toMatch(/read-only: set SECRET_ALICE__N__K or SECRET_K/);
    await expect(s.delete('alice', 'n', 'K')).rejects.toMatchObject({ status: 400 });
  });
});

describe('Vault KV v2 secret store (against a local KV v2 server)', () => {
  /** The local KV v2 server listens on loopback: allowed explicitly, as an operator would. */
  const loopback = new EgressPolicy({ allow: '127.0.0.1' });
  let vault: VaultKv2Server;
  let s: VaultSecretStore;
  beforeAll(async () => {
    vault = await startVaultKv2Server({ mount: 'kv' });
    s = new VaultSecretStore({ address: vault.url, token: vault.token, mount: 'kv', pathPrefix: 'teams/agentry' }, loopback);
  });
  afterAll(async () => vault.close());

  it('writes, reads, lists and deletes under mount and path prefix', async () => {
    await s.put('alice', 'agentspaces/default', 'OPENAI_API_KEY', VALUE);
    await s.put('alice', 'agentspaces/default/agents/a1', 'LOCAL', 'l');
    expect(vault.read('teams/agentry/alice/agentspaces/default/OPENAI_API_KEY')).toEqual({ value: VALUE });
    expect(await s.get('alice', 'agentspaces/default', 'OPENAI_API_KEY')).toBe(VALUE);
    expect(await s.list('alice', 'agentspaces/default')).toEqual(['OPENAI_API_KEY']);
    expect(await s.list('alice', 'agentspaces/none')).toEqual([]);
    expect(await s.get('alice', 'agentspaces/default', 'NOPE')).toBeUndefined();
    await s.put('alice', 'agentspaces/default', 'OPENAI_API_KEY', 'v2');
    expect(await s.get('alice', 'agentspaces/default', 'OPENAI_API_KEY')).toBe('v2');
    expect(await s.delete('alice', 'agentspaces/default', 'OPENAI_API_KEY')).toBe(true);
    expect(await s.delete('alice', 'agentspaces/default', 'OPENAI_API_KEY')).toBe(false);
    expect(await s.get('alice', 'agentspaces/default', 'OPENAI_API_KEY')).toBeUndefined();
    expect(vault.requests.every((r) => r.url.startsWith('/v1/kv/'))).toBe(true);
  });

  it('reports a refused token and an unreachable server as 502 without the token', async () => {
    const bad = new VaultSecretStore({ address: vault.url, token: 'hvs.wrong', mount: 'kv', pathPrefix: 'agentry' }, loopback);
    const e1 = (await bad.get('alice', 'n', 'K').catch((e: unknown) => e)) as AgentryError;
    expect(e1.status).toBe(502);
    expect(e1.message).toMatch(/Vault refused to read a secret \(HTTP 403\)/);
    expect(e1.details).toEqual(['permission denied']);
    const down = new VaultSecretStore({ address: 'http://127.0.0.1:9', token: vault.token, mount: 'kv', pathPrefix: 'agentry', timeoutMs: 2000 }, loopback);
    const e2 = (await down.put('alice', 'n', 'K', VALUE).catch((e: unknown) => e)) as AgentryError;
    expect(e2.status).toBe(502);
    expect(JSON.stringify([e2.message, e2.details])).not.toContain(vault.token);
    expect(JSON.stringify([e2.message, e2.details])).not.toContain(VALUE);
  });
});
