/**
 * The storage port of evals (issue 14, point 5): an eval run per row, owned by an account, with
 * its spec (the agent, the cases, their verifiers) and its results so far as plain data, and the
 * lease the runner holding the run keeps on it. The SQL implementation is src/storage/sql/eval-store.ts.
 */
import type { EvalSpec, TrialResult } from './eval-spec.js';

export type EvalStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';
export const ACTIVE_EVAL_STATUSES: readonly EvalStatus[] = ['pending', 'running'];
export const EVAL_STATUSES: readonly EvalStatus[] = ['pending', 'running', 'completed', 'failed', 'cancelled'];

export interface EvalRunRecord {
  /** Insertion order; lists page on it. */
  seq: number;
  id: string;
  accountId: number;
  /** The token that started the run: the runner acts with it (a revoked token stops the run). */
  tokenId: number;
  agentId: string;
  status: EvalStatus;
  spec: EvalSpec;
  /** One entry per case and trial, in order. */
  results: TrialResult[];
  /** Why the run failed as a whole (not a trial's failure). */
  error: string | null;
  leaseOwner: string | null;
  leaseUntil: string | null;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  endedAt: string | null;
}

export type NewEvalRun = Omit<EvalRunRecord, 'seq' | 'leaseOwner' | 'leaseUntil'>;

export interface EvalRunPatch {
  status?: EvalStatus;
  results?: TrialResult[];
  error?: string | null;
  startedAt?: string | null;
  endedAt?: string | null;
  updatedAt: string;
}

export interface EvalRunQuery {
  accountId: number;
  agentId?: string;
  statuses?: EvalStatus[];
  /** Continue after this insertion sequence (newest first: seq < beforeSeq). */
  beforeSeq?: number;
  limit: number;
}

export interface EvalStore {
  insert(r: NewEvalRun): Promise<EvalRunRecord>;
  find(id: string): Promise<EvalRunRecord | undefined>;
  /** The account's runs, newest first. */
  list(q: EvalRunQuery): Promise<EvalRunRecord[]>;
  /** Writes the patch while `owner` holds the lease and the run is still pending or running; false otherwise (cancelled, or the lease lost). */
  save(id: string, owner: string, patch: EvalRunPatch): Promise<boolean>;
  /** Writes the patch while the run is still pending or running (a cancel); false when it had already ended. */
  saveIfActive(id: string, patch: EvalRunPatch): Promise<boolean>;
  /** Pending or running runs nobody holds: no lease, or one that ran out before `now`. */
  claimable(now: string, limit: number): Promise<string[]>;
  /** Takes the lease when the run is still claimable; false when another runner was faster. */
  claim(id: string, owner: string, now: string, until: string): Promise<boolean>;
  /** Extends a lease this owner holds on an active run; false when it no longer holds it (or the run ended). */
  renew(id: string, owner: string, until: string): Promise<boolean>;
  release(id: string, owner: string): Promise<void>;
}
