import type { SecretRootKeyRecord, SecretValueRepo } from './secret-value-repo.js';
import { isoNow, type Clock } from '../time.js';
import { checkVerifier, generateRootKey, makeVerifier, open, seal, toRootKey, type RootKey, type RootKeySource } from './root-keys.js';
import { checkSecretAddress, type SecretStore } from './secret-store.js';

/** What a key rotation did. */
export interface RotationResult {
  /** The key that encrypts everything now. */
  activeKeyId: string;
  /** How many values were re-encrypted. */
  reencrypted: number;
  /** Keys no value needs any more (already dropped from a key file; remove them from `AGENTRY_SECRET_KEY`). */
  retiredKeyIds: string[];
}

const BATCH = 100;
const addressOf = (owner: string, namespace: string, key: string): string => `${owner}\u0000${namespace}\u0000${key}`;

/**
 * The built-in backend: values encrypted with AES-256-GCM (random nonce per value, the value's
 * address as associated data) under a root key, each ciphertext stored with its key's id.
 * `open` refuses a root key that does not match the verifiers already stored, so a wrong key
 * stops the server at start instead of serving garbage.
 */
export class BuiltinSecretStore implements SecretStore {
  readonly backend = 'builtin' as const;
  private keys: RootKey[] = [];

  private constructor(
    private readonly repo: SecretValueRepo,
    private readonly source: RootKeySource,
    private readonly clock: Clock,
  ) {}

  /** Loads the root keys and checks them against the stored verifiers; throws a clear message when they do not fit. */
  static async open(repo: SecretValueRepo, source: RootKeySource, clock: Clock): Promise<BuiltinSecretStore> {
    const store = new BuiltinSecretStore(repo, source, clock);
    await store.loadKeys();
    const verifiers = await repo.verifiers();
    const byId = new Map(verifiers.map((v) => [v.keyId, v]));
    for (const k of store.keys) {
      const v = byId.get(k.id);
      if (v && !checkVerifier(k, v.verifier)) {
        throw new Error(`The secret root key ${k.id} from ${source.description} does not match its stored verifier: the key or the database was altered`);
      }
    }
    const needed = new Set([...verifiers.filter((v) => v.retiredAt === null).map((v) => v.keyId), ...(await repo.keyIdsInUse())]);
    const missing = [...needed].filter((id) => !store.keys.some((k) => k.id === id));
    if (missing.length > 0) {
      throw new Error(
        `Wrong secret root key: this registry's secrets are encrypted under root key ${missing.join(', ')}, ` +
          `but ${source.description} holds ${store.keys.map((k) => k.id).join(', ')}. ` +
          `Start with the original key (AGENTRY_SECRET_KEY or the key file in the data directory); refusing to start rather than serve unreadable secrets.`,
      );
    }
    const active = store.active();
    if (!byId.has(active.id)) await repo.insertVerifier(store.verifierFor(active));
    return store;
  }

  /** The id of the key new values are encrypted with. */
  get activeKeyId(): string {
    return this.active().id;
  }

  async put(owner: string, namespace: string, key: string, value: string): Promise<void> {
    checkSecretAddress(owner, namespace, key);
    const k = this.active();
    await this.repo.put({ owner, namespace, key, keyId: k.id, ciphertext: seal(k, value, addressOf(owner, namespace, key)), updatedAt: isoNow(this.clock) });
  }

  async get(owner: string, namespace: string, key: string): Promise<string | undefined> {
    checkSecretAddress(owner, namespace, key);
    const row = await this.repo.get(owner, namespace, key);
    if (!row) return undefined;
    const k = await this.keyById(row.keyId);
    const value = k && open(k, row.ciphertext, addressOf(owner, namespace, key));
    if (value === undefined) throw new Error(`The secret ${namespace}/${key} of ${owner} cannot be decrypted with root key ${row.keyId}`);
    return value;
  }

  async delete(owner: string, namespace: string, key: string): Promise<boolean> {
    checkSecretAddress(owner, namespace, key);
    return this.repo.delete(owner, namespace, key);
  }

  async list(owner: string, namespace: string): Promise<string[]> {
    checkSecretAddress(owner, namespace);
    return this.repo.listKeys(owner, namespace);
  }

  /**
   * Re-encrypts every value under a new root key while the server keeps serving: with a key
   * file, a new key is generated and written first (old keys kept until the end); with
   * `AGENTRY_SECRET_KEY`, its first key is the target. Reads work throughout, since every
   * ciphertext names its key; writes made meanwhile already use the new key.
   */
  async rotate(): Promise<RotationResult> {
    await this.loadKeys();
    if (this.source.save) {
      const fresh = generateRootKey();
      await this.source.save([fresh, ...this.keys.map((k) => k.key)]);
      await this.loadKeys();
    }
    const active = this.active();
    const verifiers = await this.repo.verifiers();
    if (!verifiers.some((v) => v.keyId === active.id)) await this.repo.insertVerifier(this.verifierFor(active));
    let reencrypted = 0;
    let stalls = 0;
    for (;;) {
      const batch = await this.repo.listNotUnder(active.id, BATCH);
      if (batch.length === 0) break;
      let moved = 0;
      for (const row of batch) {
        const old = await this.keyById(row.keyId);
        const aad = addressOf(row.owner, row.namespace, row.key);
        const value = old && open(old, row.ciphertext, aad);
        if (value === undefined) throw new Error(`The secret ${row.namespace}/${row.key} of ${row.owner} cannot be decrypted with root key ${row.keyId}; rotation stopped`);
        const ok = await this.repo.replaceCiphertext({ ...row, keyId: active.id, ciphertext: seal(active, value, aad), updatedAt: isoNow(this.clock) }, row.ciphertext);
        if (ok) moved++;
      }
      reencrypted += moved;
      if (moved === 0 && ++stalls > 3) throw new Error('Key rotation keeps losing races with writers that use an older root key; restart every server process with the new key and run it again');
      // Rows that changed under us were rewritten by a concurrent put, with the new key: the next batch skips them.
    }
    const inUse = new Set(await this.repo.keyIdsInUse());
    const retiredKeyIds = (await this.repo.verifiers()).filter((v) => v.keyId !== active.id && v.retiredAt === null && !inUse.has(v.keyId)).map((v) => v.keyId);
    for (const id of retiredKeyIds) await this.repo.retireVerifier(id, isoNow(this.clock));
    if (this.source.save) {
      await this.source.save([active.key]);
      await this.loadKeys();
    }
    return { activeKeyId: active.id, reencrypted, retiredKeyIds };
  }

  private active(): RootKey {
    const k = this.keys[0];
    if (!k) throw new Error('No secret root key is loaded');
    return k;
  }

  private verifierFor(k: RootKey): SecretRootKeyRecord {
    return { keyId: k.id, verifier: makeVerifier(k), createdAt: isoNow(this.clock), retiredAt: null };
  }

  private async loadKeys(): Promise<void> {
    const keys = (await this.source.load()).map(toRootKey);
    if (keys.length === 0) throw new Error(`${this.source.description} holds no secret root key`);
    this.keys = keys;
  }

  /** The key with this id; reloads the source once, for a key another process has just rotated in. */
  private async keyById(id: string): Promise<RootKey | undefined> {
    const found = this.keys.find((k) => k.id === id);
    if (found) return found;
    await this.loadKeys();
    return this.keys.find((k) => k.id === id);
  }
}
