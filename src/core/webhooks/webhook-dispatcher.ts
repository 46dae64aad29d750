import { randomBytes } from 'node:crypto';
import type { AccountRepo } from '../accounts/account-repo.js';
import { Poller } from '../jobs/poller.js';
import type { SecretStore } from '../secrets/secret-store.js';
import { isoNow, type Clock } from '../time.js';
import { isRetryableStatus, webhookSignature, type WebhookReply, type WebhookSender } from './webhook-sender.js';
import { WEBHOOK_SECRETS_NAMESPACE } from './webhook-service.js';
import type { AttemptOutcome, DeliveryRecord, WebhookStore } from './webhook-store.js';

export interface WebhookDispatcherDeps {
  store: WebhookStore;
  accounts: AccountRepo;
  secrets: SecretStore;
  sender: WebhookSender;
  clock: Clock;
}

export interface WebhookDispatcherOptions {
  /** Wait before the second attempt; doubled for each further one, at most an hour (default 5 s). */
  retryBaseMs?: number;
  /** Attempts before a delivery is given up as failed (default 8). */
  maxAttempts?: number;
  /** How long one POST may take (default 10 s). */
  timeoutMs?: number;
  /** How often idle dispatchers look for work besides being woken (default 1 s). */
  pollMs?: number;
  /** Deliveries one process sends at once (default 8). */
  maxConcurrent?: number;
  onError?: (e: unknown, deliveryId: string) => void;
}

/** How much of a response's body the delivery log keeps. */
export const RESPONSE_BODY_MAX = 1000;
const MAX_BACKOFF_MS = 3_600_000;

/**
 * Sends queued webhook deliveries, in every server process: a worker claims a pending delivery
 * whose time has come (the leased-job helper: one claimant per row, so several processes never
 * send one attempt twice; a crashed worker's lease runs out and the delivery is taken again), signs
 * and POSTs it through the sender (the egress policy), and writes the attempt under its lease:
 * 2xx delivered; 408, 429, 5xx or no answer tried again after `retryBaseMs · 2^(attempt-1)` until
 * `maxAttempts`; any other answer failed at once.
 */
export class WebhookDispatcher {
  readonly workerId = `whd_${randomBytes(8).toString('hex')}`;
  private readonly active = new Map<string, Promise<void>>();
  private readonly o: Required<Omit<WebhookDispatcherOptions, 'onError'>> & Pick<WebhookDispatcherOptions, 'onError'>;
  private readonly poller: Poller;

  constructor(
    private readonly deps: WebhookDispatcherDeps,
    opts: WebhookDispatcherOptions = {},
  ) {
    this.o = {
      retryBaseMs: opts.retryBaseMs ?? 5_000,
      maxAttempts: opts.maxAttempts ?? 8,
      timeoutMs: opts.timeoutMs ?? 10_000,
      pollMs: opts.pollMs ?? 1_000,
      maxConcurrent: opts.maxConcurrent ?? 8,
      onError: opts.onError,
    };
    this.poller = new Poller(
      () => this.claimSome(),
      Math.min(this.o.pollMs, this.o.retryBaseMs),
      (e) => this.o.onError?.(e, ''),
    );
  }

  start(): void {
    this.poller.start();
  }

  /** Deliveries were queued: look now rather than at the next poll. */
  wake(): void {
    this.poller.wake();
  }

  /** Stops claiming; waits for the attempts in flight (each at most `timeoutMs`). */
  async stop(): Promise<void> {
    this.poller.stop();
    await Promise.all(this.active.values());
  }

  private async claimSome(): Promise<void> {
    const room = this.o.maxConcurrent - this.active.size;
    if (room <= 0) return;
    const now = isoNow(this.deps.clock);
    // The lease outlasts an attempt: the request's time limit, and as long again for the writes.
    const until = new Date(Date.parse(now) + 2 * this.o.timeoutMs + 5_000).toISOString();
    for (const id of await this.deps.store.claimable(now, room + this.active.size)) {
      if (this.poller.isStopped || this.active.size >= this.o.maxConcurrent || this.active.has(id)) continue;
      if (!(await this.deps.store.claim(id, this.workerId, now, until))) continue;
      const done = this.attempt(id)
        .catch(async (e) => {
          this.o.onError?.(e, id);
          await this.deps.store.release(id, this.workerId).catch(() => undefined);
        })
        .finally(() => {
          this.active.delete(id);
          this.wake();
        });
      this.active.set(id, done);
    }
  }

  private async attempt(id: string): Promise<void> {
    const d = await this.deps.store.findDelivery(id);
    if (!d || d.status !== 'pending') return;
    const hook = await this.deps.store.find(d.webhookId);
    const owner = hook && (await this.deps.accounts.findById(hook.ownerAccountId));
    const secret = owner && (await this.deps.secrets.get(owner.name, WEBHOOK_SECRETS_NAMESPACE, hook.id));
    const started = this.deps.clock.now().getTime();
    const reply: WebhookReply =
      hook && secret
        ? await this.deps.sender.send({
            url: hook.url,
            body: d.payload,
            timeoutMs: this.o.timeoutMs,
            headers: {
              'content-type': 'application/json',
              'user-agent': 'Agentry-Webhooks',
              'x-agentry-event': d.event,
              'x-agentry-delivery': d.id,
              'x-agentry-signature': webhookSignature(secret, Math.floor(started / 1000), d.payload),
            },
          })
        : { kind: 'error', message: hook ? "the webhook's secret is missing from the secret store" : 'the webhook is gone', retry: false };
    const ended = this.deps.clock.now().getTime();
    await this.deps.store.recordAttempt(id, this.workerId, this.outcome(d, reply, ended - started, ended));
  }

  private outcome(d: DeliveryRecord, reply: WebhookReply, durationMs: number, endedMs: number): AttemptOutcome {
    const base = { durationMs, updatedAt: new Date(endedMs).toISOString() };
    const attempt = d.attempts + 1;
    const retry = (reply.kind === 'response' ? isRetryableStatus(reply.status) : reply.retry) && attempt < this.o.maxAttempts;
    const delivered = reply.kind === 'response' && reply.status >= 200 && reply.status < 300;
    const fields = reply.kind === 'response' ? { responseCode: reply.status, responseBody: reply.body.slice(0, RESPONSE_BODY_MAX) } : { responseCode: null, responseBody: reply.message };
    if (delivered) return { ...base, ...fields, status: 'delivered' };
    if (!retry) return { ...base, ...fields, status: 'failed' };
    const wait = Math.min(MAX_BACKOFF_MS, this.o.retryBaseMs * 2 ** (attempt - 1));
    return { ...base, ...fields, status: 'pending', retryAt: new Date(endedMs + wait).toISOString() };
  }
}
