import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

/**
 * Root keys of the built-in secret backend: 32 random bytes each. A key is named by its id,
 * an HMAC of the key itself (so the id reveals nothing about it and the same key always has
 * the same id); every ciphertext stores the id of the key that made it.
 */
export interface RootKey {
  id: string;
  key: Buffer;
}

/** Where the root keys come from: the first one encrypts, the others only decrypt (rotation). */
export interface RootKeySource {
  /** Where the keys live, for messages: `AGENTRY_SECRET_KEY` or a file path. Never a key. */
  readonly description: string;
  load(): Promise<Buffer[]>;
  /** Writes a new key list (first = active); absent when the keys cannot be changed from here. */
  save?(keys: Buffer[]): Promise<void>;
}

const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const VERIFIER_TEXT = 'agentry secret store root key verifier v1';

export const rootKeyId = (key: Buffer): string => createHmac('sha256', key).update('agentry-secret-root-key-id').digest('hex').slice(0, 16);

export const toRootKey = (key: Buffer): RootKey => ({ id: rootKeyId(key), key });

export const generateRootKey = (): Buffer => randomBytes(KEY_BYTES);

/** The text form of a key list: base64 keys, one a line (or comma-separated in the environment). */
export const formatRootKeys = (keys: Buffer[]): string => keys.map((k) => k.toString('base64')).join('\n') + '\n';

/**
 * Parses `AGENTRY_SECRET_KEY` or a key file: one or more keys separated by commas or new lines,
 * each 32 bytes as base64, base64url or 64 hex digits. Throws a message naming `where`, never the key.
 */
export const parseRootKeys = (text: string, where: string): Buffer[] => {
  const parts = text.split(/[\s,]+/).filter((p) => p.length > 0);
  if (parts.length === 0) throw new Error(`${where} holds no secret root key`);
  return parts.map((p, i) => {
    const key = /^[0-9a-fA-F]{64}$/.test(p) ? Buffer.from(p, 'hex') : /^[A-Za-z0-9+/_-]{43}=?$/.test(p) ? Buffer.from(p.replace(/-/g, '+').replace(/_/g, '/'), 'base64') : undefined;
    if (!key || key.length !== KEY_BYTES) {
      throw new Error(`${where}: key ${i + 1} is not a secret root key; give 32 bytes as base64 (e.g. \`openssl rand -base64 32\`) or 64 hex digits`);
    }
    return key;
  });
};

/** AES-256-GCM with a fresh random nonce; `aad` binds the ciphertext to where it is stored. Returns base64(nonce | ciphertext | tag). */
export const seal = (key: RootKey, plaintext: string, aad: string): string => {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.key, nonce);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64');
};

/** The inverse of `seal`; undefined when the key, the address or the bytes do not match. */
export const open = (key: RootKey, sealed: string, aad: string): string | undefined => {
  const raw = Buffer.from(sealed, 'base64');
  if (raw.length < NONCE_BYTES + TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.key, raw.subarray(0, NONCE_BYTES));
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
};

export const makeVerifier = (key: RootKey): string => seal(key, VERIFIER_TEXT, `verifier:${key.id}`);

export const checkVerifier = (key: RootKey, verifier: string): boolean => open(key, verifier, `verifier:${key.id}`) === VERIFIER_TEXT;
