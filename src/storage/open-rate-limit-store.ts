import type { RateLimitStore } from '../core/rate-limits/rate-limit-store.js';
import { MemoryRateLimitStore } from './memory/memory-rate-limit-store.js';
import { RedisRateLimitStore } from './redis/redis-rate-limit-store.js';

/** Redis when a URL is configured (shared by every process on it), else this process's memory. */
export const openRateLimitStore = async (cfg: { redisUrl?: string; redisKeyPrefix: string }): Promise<RateLimitStore> =>
  cfg.redisUrl ? RedisRateLimitStore.open({ url: cfg.redisUrl, keyPrefix: cfg.redisKeyPrefix }) : new MemoryRateLimitStore();
