import type { RateLimitStore } from '../../core/rate-limits/rate-limit-store.js';

/** Rate-limit counters in this process's memory: the embedded default (one server process). */
export class MemoryRateLimitStore implements RateLimitStore {
  readonly kind = 'memory' as const;
  private readonly counters = new Map<string, { count: number; expiresAt: number }>();
  private nextSweep = 0;

  constructor(private readonly now: () => number = Date.now) {}

  async increment(key: string, ttlMs: number): Promise<number> {
    const now = this.now();
    this.sweep(now);
    const c = this.counters.get(key);
    if (!c || c.expiresAt <= now) {
      this.counters.set(key, { count: 1, expiresAt: now + ttlMs });
      return 1;
    }
    c.count += 1;
    return c.count;
  }

  /** Drops expired counters, at most once a second, so memory stays bounded by live windows. */
  private sweep(now: number): void {
    if (now < this.nextSweep) return;
    this.nextSweep = now + 1000;
    for (const [k, c] of this.counters) if (c.expiresAt <= now) this.counters.delete(k);
  }

  get size(): number {
    return this.counters.size;
  }

  async close(): Promise<void> {
    this.counters.clear();
  }
}
