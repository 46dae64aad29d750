/** A sign-in in progress: the CSRF `state` (stored hashed) and where the provider sends the user back. */
export interface OAuthStateRecord {
  redirectUri: string;
  createdAt: string;
  expiresAt: string;
}

/** Storage port for sign-in: pending states (single use) and provider identities linked to accounts. */
export interface OAuthRepo {
  saveState(stateHash: string, state: OAuthStateRecord): Promise<void>;
  /** Deletes the state and answers it; undefined when unknown or already used. Single use even under races. */
  takeState(stateHash: string): Promise<OAuthStateRecord | undefined>;
  /** Drops states that expired before `now`. */
  pruneStates(now: string): Promise<void>;
  findAccountId(provider: string, subject: string): Promise<number | undefined>;
  link(provider: string, subject: string, accountId: number, at: string): Promise<void>;
}
