/**
 * The storage port of webhooks (issue 18, part 3): a webhook per row, owned by a user or an org,
 * and its deliveries, queued in the database and leased by the dispatcher that sends them (the
 * lease is `SqlLeasedJobs`'). A failed attempt that will be retried keeps the delivery pending with
 * its lease released until the next attempt's time, so no worker claims it before. The secret is
 * not here: it is in the secret store. The SQL implementation is src/storage/sql/webhook-store.ts.
 */
import type { DomainEventType } from '../events/domain-events.js';

export interface WebhookRecord {
  id: string;
  ownerAccountId: number;
  url: string;
  events: DomainEventType[];
  createdAt: string;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface DeliveryRecord {
  seq: number;
  /** The delivery's uuid (`X-Agentry-Delivery`). */
  id: string;
  webhookId: string;
  event: DomainEventType;
  /** The JSON body sent, exactly. */
  payload: string;
  status: DeliveryStatus;
  attempts: number;
  responseCode: number | null;
  durationMs: number | null;
  /** The start of the last response's body (truncated), or why the request failed. */
  responseBody: string | null;
  /** The delivery this one replays, if any. */
  replayOf: string | null;
  createdAt: string;
  updatedAt: string;
}

export type NewDelivery = Pick<DeliveryRecord, 'id' | 'webhookId' | 'event' | 'payload' | 'replayOf' | 'createdAt'>;

/** What an attempt wrote: `pending` with `retryAt` to try again then, or a final status. */
export interface AttemptOutcome {
  status: DeliveryStatus;
  retryAt?: string;
  responseCode: number | null;
  durationMs: number;
  responseBody: string | null;
  updatedAt: string;
}

/**
 * What a domain write reaches inside its own transaction (`StorageRepos.webhookOutbox`): the owner's
 * webhooks and the queue, so a change and its deliveries commit together or not at all.
 */
export interface WebhookOutbox {
  /** The owner's webhooks, oldest first. */
  listByOwner(ownerAccountId: number): Promise<WebhookRecord[]>;
  enqueue(deliveries: NewDelivery[]): Promise<void>;
}

export interface WebhookStore extends WebhookOutbox {
  insert(w: WebhookRecord): Promise<void>;
  find(id: string): Promise<WebhookRecord | undefined>;
  /** The accounts with at least one webhook. */
  owners(): Promise<number[]>;
  /**
   * Calls `listener` with the owner whose webhooks another process added or removed (a hint: read
   * the store again), and with undefined when such changes may have been missed (a reconnect).
   */
  onOwnerChange(listener: (ownerAccountId: number | undefined) => void): Promise<void>;
  /** Deletes the webhook and its deliveries. */
  delete(id: string): Promise<boolean>;
  findDelivery(id: string): Promise<DeliveryRecord | undefined>;
  /** A webhook's deliveries, newest first. */
  listDeliveries(webhookId: string, limit: number): Promise<DeliveryRecord[]>;
  /** Pending deliveries no worker holds and whose time has come (oldest first). */
  claimable(now: string, limit: number): Promise<string[]>;
  claim(id: string, owner: string, now: string, until: string): Promise<boolean>;
  release(id: string, owner: string): Promise<void>;
  /** Writes an attempt while `owner` holds the lease: counts it, and releases the lease (until `retryAt` when retried). */
  recordAttempt(id: string, owner: string, outcome: AttemptOutcome): Promise<boolean>;
}
