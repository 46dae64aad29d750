/**
 * The storage port of rate limiting: a counter per key that lives for a while. The embedded
 * default keeps counters in memory (one process); the Redis store shares them between every
 * server process pointed at one Redis, so they share one budget.
 */
export interface RateLimitStore {
  /** Which implementation this is, for logs and health output. */
  readonly kind: 'memory' | 'redis';
  /**
   * Adds one to the counter `key` (creating it at 1, to expire `ttlMs` from now) and answers the
   * new value. Atomic: concurrent hits, from any process sharing the store, all count.
   */
  increment(key: string, ttlMs: number): Promise<number>;
  close(): Promise<void>;
}
