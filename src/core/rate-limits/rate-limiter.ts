import { AgentryError } from '../errors.js';
import type { Clock } from '../time.js';
import type { RateLimitStore } from './rate-limit-store.js';
import { describeRule, type RateLimitRule, type RateLimitRules } from './rules.js';

/** Who is counted: an account (a valid token) or, without one, the client's IP address. */
export type RateLimitSubject = { account: number } | { ip: string };

/** The answer for one request: the budget that binds it, as the X-RateLimit-* headers say it. */
export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Whole seconds until the window resets (at least 1). */
  resetSeconds: number;
  /** Which rule this is, and its window, for the error message. */
  rule: 'anonymous' | 'user' | 'publish';
  windowMs: number;
}

export class RateLimitedError extends AgentryError {
  constructor(readonly decision: RateLimitDecision) {
    const who = decision.rule === 'anonymous' ? 'requests per IP address without a token' : decision.rule === 'publish' ? 'publishes per user' : 'requests per user';
    super('rate_limited', `Rate limit exceeded: ${who} are limited to ${describeRule(decision)}; retry in ${decision.resetSeconds} s`);
  }
}

/**
 * The one place the rate-limit rule lives. Fixed windows aligned to the epoch, so every process
 * sharing a store agrees on when a window starts and ends; a refused request still counts.
 *
 * @example
 *   const d = await limiter.check({ account: 7 }, { publish: true });
 *   if (d && !d.allowed) throw new RateLimitedError(d);
 */
export class RateLimiter {
  constructor(
    private readonly store: RateLimitStore,
    readonly rules: RateLimitRules,
    private readonly clock: Clock,
    /** Told when the store fails; the request is then let through (a limiter outage is no outage). */
    private readonly onStoreError: (e: unknown) => void = () => undefined,
  ) {}

  get storeKind(): RateLimitStore['kind'] {
    return this.store.kind;
  }

  /**
   * Counts one request of `subject` and answers the binding decision: the refusing budget if one
   * refuses, else the one with the fewest requests left. Undefined when no limit applies (all off,
   * or the store failed).
   */
  async check(subject: RateLimitSubject, opts: { publish?: boolean } = {}): Promise<RateLimitDecision | undefined> {
    const checks: Array<Promise<RateLimitDecision | undefined>> = [];
    if ('account' in subject) {
      checks.push(this.hit('user', this.rules.user, `u:${subject.account}`));
      if (opts.publish) checks.push(this.hit('publish', this.rules.publish, `p:${subject.account}`));
    } else {
      checks.push(this.hit('anonymous', this.rules.anonymous, `ip:${subject.ip}`));
    }
    const decisions = (await Promise.all(checks)).filter((d): d is RateLimitDecision => d !== undefined);
    if (decisions.length === 0) return undefined;
    const refused = decisions.find((d) => !d.allowed);
    if (refused) return refused;
    return decisions.reduce((a, b) => (b.remaining < a.remaining || (b.remaining === a.remaining && b.resetSeconds > a.resetSeconds) ? b : a));
  }

  private async hit(rule: RateLimitDecision['rule'], r: RateLimitRule | null, who: string): Promise<RateLimitDecision | undefined> {
    if (!r) return undefined;
    const now = this.clock.now().getTime();
    const window = Math.floor(now / r.windowMs);
    const resetMs = (window + 1) * r.windowMs - now;
    let count: number;
    try {
      count = await this.store.increment(`${rule}:${r.limit}:${r.windowMs}:${who}:${window}`, resetMs + 1000);
    } catch (e) {
      this.onStoreError(e);
      return undefined;
    }
    return {
      allowed: count <= r.limit,
      limit: r.limit,
      remaining: Math.max(0, r.limit - count),
      resetSeconds: Math.max(1, Math.ceil(resetMs / 1000)),
      rule,
      windowMs: r.windowMs,
    };
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
