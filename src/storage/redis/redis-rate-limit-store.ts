import { Redis } from 'ioredis';
import type { RateLimitStore } from '../../core/rate-limits/rate-limit-store.js';

/** INCR and, on the first hit, PEXPIRE: one atomic step on the Redis server. */
const INCREMENT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`;

export interface RedisRateLimitOptions {
  url: string;
  /** Prepended to every key, so several registries (or test runs) can share one Redis. */
  keyPrefix: string;
  connectTimeoutMs?: number;
}

/**
 * Rate-limit counters in Redis: every server process on one Redis shares one budget.
 * Commands fail fast while Redis is down (no offline queue), so the limiter lets requests through
 * instead of holding them.
 */
export class RedisRateLimitStore implements RateLimitStore {
  readonly kind = 'redis' as const;

  private constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
  ) {}

  /** Connects, and fails with a clear message when Redis cannot be reached. */
  static async open(opts: RedisRateLimitOptions): Promise<RedisRateLimitStore> {
    if (!/^rediss?:\/\//.test(opts.url)) throw new Error('Redis URL must start with redis:// or rediss://');
    const redis = new Redis(opts.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: opts.connectTimeoutMs ?? 5000,
      retryStrategy: (times) => Math.min(times * 200, 2000),
    });
    // ioredis reports connection trouble as events; the limiter sees failures through commands.
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      await redis.ping();
    } catch (e) {
      redis.disconnect();
      throw new Error(`Redis at ${redactUrl(opts.url)} is unreachable: ${(e as Error).message}`);
    }
    return new RedisRateLimitStore(redis, opts.keyPrefix);
  }

  async increment(key: string, ttlMs: number): Promise<number> {
    const n = await this.redis.eval(INCREMENT, 1, `${this.keyPrefix}rl:${key}`, String(Math.ceil(ttlMs)));
    return Number(n);
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/** The URL without its password, for messages. */
const redactUrl = (url: string): string => {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'the configured URL';
  }
};
