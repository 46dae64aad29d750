/** Storage port of the built-in secret backend (see builtin-secret-store.ts). */

/** One encrypted secret value: `ciphertext` is base64 of nonce | encrypted bytes | GCM tag. */
export interface SecretValueRecord {
  owner: string;
  namespace: string;
  key: string;
  /** Which root key encrypted it (see core/secrets/root-keys.ts). */
  keyId: string;
  ciphertext: string;
  updatedAt: string;
}

/** A root key's verifier: a known text encrypted under it, to tell a right key from a wrong one. */
export interface SecretRootKeyRecord {
  keyId: string;
  verifier: string;
  createdAt: string;
  retiredAt: string | null;
}

/** The built-in secret backend's ciphertexts and root-key verifiers. */
export interface SecretValueRepo {
  put(row: SecretValueRecord): Promise<void>;
  get(owner: string, namespace: string, key: string): Promise<SecretValueRecord | undefined>;
  delete(owner: string, namespace: string, key: string): Promise<boolean>;
  listKeys(owner: string, namespace: string): Promise<string[]>;
  /** Up to `limit` values not encrypted under `keyId`, for re-encryption. */
  listNotUnder(keyId: string, limit: number): Promise<SecretValueRecord[]>;
  /** Replaces a value's ciphertext only if it still holds `expected` (a concurrent write wins). */
  replaceCiphertext(row: SecretValueRecord, expected: string): Promise<boolean>;
  keyIdsInUse(): Promise<string[]>;
  verifiers(): Promise<SecretRootKeyRecord[]>;
  insertVerifier(row: SecretRootKeyRecord): Promise<void>;
  retireVerifier(keyId: string, at: string): Promise<void>;
}
