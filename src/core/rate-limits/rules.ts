/**
 * Rate-limit rules: how many requests a caller may make in a fixed window. agentx (004) says:
 * 60 a minute per IP unauthenticated, 120 a minute per user, publish 10 an hour per user; a
 * self-hosted server limits nothing unless told to (`--rate-limits agentx` brings agentx's values).
 */
export interface RateLimitRule {
  limit: number;
  windowMs: number;
}

/** What a caller is limited by. `null` switches that limit off. */
export interface RateLimitRules {
  /** Requests without a valid token, counted per client IP. */
  anonymous: RateLimitRule | null;
  /** Requests with a valid token, counted per account. */
  user: RateLimitRule | null;
  /** Publishes, counted per account (on top of `user`). */
  publish: RateLimitRule | null;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** agentx's hosted values (seed 004): the `agentx` preset. */
export const AGENTX_RATE_LIMITS: RateLimitRules = {
  anonymous: { limit: 60, windowMs: MINUTE },
  user: { limit: 120, windowMs: MINUTE },
  publish: { limit: 10, windowMs: HOUR },
};

/** No limit at all: the default of a self-hosted server (`--rate-limits off`). */
export const NO_RATE_LIMITS: RateLimitRules = { anonymous: null, user: null, publish: null };

/**
 * The `--rate-limits` presets: `off` (the default: nothing limited), `agentx` (agentx's hosted
 * values), `custom` (only the per-limit settings given, every other limit off). Per-limit settings
 * (`--rate-limit-user 300/min`) override a preset's value; given without a preset they mean `custom`.
 */
export const RATE_LIMIT_PRESETS = ['off', 'agentx', 'custom'] as const;
export type RateLimitPreset = (typeof RATE_LIMIT_PRESETS)[number];

export const isRateLimitPreset = (s: string): s is RateLimitPreset => (RATE_LIMIT_PRESETS as readonly string[]).includes(s);

/** The rules a preset starts from, before per-limit settings. */
export const presetRules = (preset: RateLimitPreset): RateLimitRules => (preset === 'agentx' ? AGENTX_RATE_LIMITS : NO_RATE_LIMITS);

const UNIT_MS: Record<string, number> = { s: 1000, m: MINUTE, h: HOUR, d: 24 * HOUR };

/**
 * Reads a rule as written in configuration: `off`, `60/min`, `10/hour`, `100/15m`, `5/30s`,
 * or a bare number (per `defaultWindowMs`). Throws a message that says what is accepted.
 */
export const parseRateLimitRule = (name: string, text: string, defaultWindowMs: number): RateLimitRule | null => {
  const t = text.trim().toLowerCase();
  if (t === 'off' || t === 'none' || t === '0') return null;
  const m = /^(\d{1,9})(?:\s*\/\s*(\d{0,6})\s*(s|sec|secs|second|seconds|m|min|mins|minute|minutes|h|hr|hour|hours|d|day|days))?$/.exec(t);
  if (!m) throw new Error(`${name} must be 'off' or a count per window such as 60/min, 10/hour, 100/15m (got '${text}')`);
  const limit = Number(m[1]);
  const windowMs = m[3] ? Number(m[2] || 1) * UNIT_MS[m[3][0]] : defaultWindowMs;
  if (limit < 1 || windowMs < 1000) throw new Error(`${name} must allow at least 1 request in a window of at least 1 second (got '${text}')`);
  return { limit, windowMs };
};

/** `60/min`, `10/hour`: a rule as an operator would write it, for logs and docs. */
export const describeRule = (rule: RateLimitRule | null): string => {
  if (!rule) return 'off';
  const w = rule.windowMs;
  const unit = w % HOUR === 0 ? [w / HOUR, 'hour'] : w % MINUTE === 0 ? [w / MINUTE, 'minute'] : [w / 1000, 'second'];
  return `${rule.limit} per ${unit[0] === 1 ? '' : `${unit[0]} `}${unit[1]}${unit[0] === 1 ? '' : 's'}`;
};
