import { setTimeout as sleep } from 'node:timers/promises';

/** How often and how patiently the client tries again after a transient failure. */
export interface RetryPolicy {
  /** Further tries after the first (0: never retry). */
  retries: number;
  /** The first wait; each next one doubles, with ±20 % jitter. */
  baseDelayMs: number;
  /** No wait is longer; a Retry-After beyond it fails instead of waiting. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 4, baseDelayMs: 250, maxDelayMs: 30_000 };

/** The wait before try number `attempt + 1` (attempt counts from 0), honouring a Retry-After. */
export const retryDelayMs = (policy: RetryPolicy, attempt: number, retryAfterSeconds?: number): number => {
  if (retryAfterSeconds !== undefined) return Math.min(policy.maxDelayMs, Math.ceil(retryAfterSeconds * 1000));
  const exp = policy.baseDelayMs * 2 ** attempt;
  const jitter = 0.8 + Math.random() * 0.4;
  return Math.min(policy.maxDelayMs, Math.round(exp * jitter));
};

/** Whether a Retry-After can be honoured within the policy. */
export const canWait = (policy: RetryPolicy, retryAfterSeconds?: number): boolean => retryAfterSeconds === undefined || retryAfterSeconds * 1000 <= policy.maxDelayMs;

export const wait = (ms: number): Promise<void> => sleep(ms).then(() => undefined);
