/**
 * A publish remembered under the `Idempotency-Key` its client sent: what was asked (the fingerprint
 * of the bytes and the target) and what it made (the package and version), until `expiresAt`.
 */
export interface IdempotencyRecord {
  accountId: number;
  key: string;
  /** sha256 (hex) of the request's target and bytes; a retry must match it. */
  fingerprint: string;
  packageId: number;
  version: string;
  createdAt: string;
  expiresAt: string;
}

export interface IdempotencyRepo {
  /** The live record of `key` for this account (one that expired at or before `now` is not). */
  find(accountId: number, key: string, now: string): Promise<IdempotencyRecord | undefined>;
  /**
   * Records a key, in the publish's own transaction. False when the account already holds a live
   * record of this key (a concurrent request committed it first); an expired one is replaced.
   */
  insert(r: IdempotencyRecord): Promise<boolean>;
  /** Forgets every key that expired at or before `now`; returns how many. */
  deleteExpired(now: string): Promise<number>;
}
