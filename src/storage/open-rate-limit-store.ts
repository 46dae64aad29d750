import type { RateLimitStore } from '../core/rate-limits/rate-limit-store.js';
import { MemoryRateLimitStore } from './memory/memory-rate-limit-store.js';

/**
 * Redis when a URL is configured (shared by every process on it), else this process's memory.
 * The Redis client is loaded only then: a server without Redis never holds ioredis (~2 MB of heap).
 */
export const openRateLimitStore = async (cfg: { redisUrl?: string; redisKeyPrefix: string }): Promise<RateLimitStore> => {
  if (!cfg.redisUrl) return new MemoryRateLimitStore();
  const { RedisRateLimitStore } = await import('./redis/redis-rate-limit-store.js');
  return RedisRateLimitStore.open({ url: cfg.redisUrl, keyPrefix: cfg.redisKeyPrefix });
};
