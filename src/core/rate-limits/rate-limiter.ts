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
   * Counts one request of `subject` (per account with a valid token, else per IP) and answers the
   * decision, or undefined when no limit applies (off, or the store failed).
   */
  check(subject: RateLimitSubject): Promise<RateLimitDecision | undefined> {
    return 'account' in subject ? this.hit('user', this.rules.user, `u:${subject.account}`) : this.hit('anonymous', this.rules.anonymous, `ip:${subject.ip}`);
  }

  /** Counts one publish by `account` and throws RateLimitedError when its publish budget is spent. */
  async requirePublishBudget(account: number): Promise<void> {
    const d = await this.hit('publish', this.rules.publish, `p:${account}`);
    if (d && !d.allowed) throw new RateLimitedError(d);
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
