import type { Generated, Kysely, Selectable } from 'kysely';
import type { DomainEventType } from '../../core/events/domain-events.js';
import type { AttemptOutcome, DeliveryRecord, DeliveryStatus, NewDelivery, WebhookRecord, WebhookStore } from '../../core/webhooks/webhook-store.js';
import { SqlLeasedJobs } from './leased-jobs.js';
import type { Database } from './schema.js';

/** The tables of migration 0032-webhooks. */
export interface WebhookDatabase {
  webhooks: {
    id: string;
    owner_account_id: number;
    url: string;
    events: string;
    created_at: string;
  };
  webhook_deliveries: {
    seq: Generated<number>;
    id: string;
    webhook_id: string;
    event: string;
    payload: string;
    status: string;
    attempts: number;
    response_code: number | null;
    duration_ms: number | null;
    response_body: string | null;
    replay_of: string | null;
    lease_owner: string | null;
    lease_until: string | null;
    created_at: string;
    updated_at: string;
  };
}

const toWebhook = (r: Selectable<WebhookDatabase['webhooks']>): WebhookRecord => ({
  id: r.id,
  ownerAccountId: Number(r.owner_account_id),
  url: r.url,
  events: JSON.parse(r.events) as DomainEventType[],
  createdAt: r.created_at,
});

const toDelivery = (r: Selectable<WebhookDatabase['webhook_deliveries']>): DeliveryRecord => ({
  seq: Number(r.seq),
  id: r.id,
  webhookId: r.webhook_id,
  event: r.event as DomainEventType,
  payload: r.payload,
  status: r.status as DeliveryStatus,
  attempts: Number(r.attempts),
  responseCode: r.response_code === null ? null : Number(r.response_code),
  durationMs: r.duration_ms === null ? null : Number(r.duration_ms),
  responseBody: r.response_body,
  replayOf: r.replay_of,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/**
 * Webhooks and their deliveries on SQLite and PostgreSQL (core/webhooks' own port, outside the
 * `Storage` aggregate); a pending delivery's lease (claimable, claim, release) comes from
 * `SqlLeasedJobs`, and a retried attempt leaves `lease_until` at the next attempt's time.
 */
export class SqlWebhookStore extends SqlLeasedJobs implements WebhookStore {
  private readonly db: Kysely<WebhookDatabase>;
  /**
   * Where this process alone writes the store (SQLite): the owners known to have no webhook, so
   * the lookup every package write makes (see WebhookService.enqueue) costs no statement for
   * them. Only `insert` adds a webhook, and it drops its owner from here; `writes` counts the
   * inserts, so a lookup that raced one is not remembered. Undefined on a shared store
   * (PostgreSQL): another process may add a webhook at any time.
   */
  private readonly withoutHooks: Set<number> | undefined;
  private writes = 0;

  constructor(db: Kysely<Database>, ownsStore = false) {
    super(db, { table: 'webhook_deliveries', order: 'seq', active: ['pending'], renewWhileActive: true });
    this.db = db as unknown as Kysely<WebhookDatabase>;
    this.withoutHooks = ownsStore ? new Set() : undefined;
  }

  async insert(w: WebhookRecord): Promise<void> {
    try {
      await this.db
        .insertInto('webhooks')
        .values({ id: w.id, owner_account_id: w.ownerAccountId, url: w.url, events: JSON.stringify(w.events), created_at: w.createdAt })
        .execute();
    } finally {
      this.writes += 1;
      this.withoutHooks?.delete(w.ownerAccountId);
    }
  }

  async find(id: string): Promise<WebhookRecord | undefined> {
    const r = await this.db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toWebhook(r);
  }

  async listByOwner(ownerAccountId: number): Promise<WebhookRecord[]> {
    if (this.withoutHooks?.has(ownerAccountId)) return [];
    const writes = this.writes;
    const hooks = (await this.db.selectFrom('webhooks').selectAll().where('owner_account_id', '=', ownerAccountId).orderBy('created_at', 'asc').orderBy('id', 'asc').execute()).map(toWebhook);
    if (hooks.length === 0 && this.withoutHooks && writes === this.writes) {
      // Bounded: a registry with very many accounts forgets and looks again.
      if (this.withoutHooks.size >= 100_000) this.withoutHooks.clear();
      this.withoutHooks.add(ownerAccountId);
    }
    return hooks;
  }

  async delete(id: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('webhook_deliveries').where('webhook_id', '=', id).execute();
      const r = await trx.deleteFrom('webhooks').where('id', '=', id).executeTakeFirst();
      return Number(r.numDeletedRows) === 1;
    });
  }

  async enqueue(deliveries: NewDelivery[]): Promise<void> {
    if (deliveries.length === 0) return;
    await this.db
      .insertInto('webhook_deliveries')
      .values(
        deliveries.map((d) => ({
          id: d.id,
          webhook_id: d.webhookId,
          event: d.event,
          payload: d.payload,
          status: 'pending',
          attempts: 0,
          response_code: null,
          duration_ms: null,
          response_body: null,
          replay_of: d.replayOf,
          lease_owner: null,
          lease_until: null,
          created_at: d.createdAt,
          updated_at: d.createdAt,
        })),
      )
      .execute();
  }

  async findDelivery(id: string): Promise<DeliveryRecord | undefined> {
    const r = await this.db.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toDelivery(r);
  }

  async listDeliveries(webhookId: string, limit: number): Promise<DeliveryRecord[]> {
    return (await this.db.selectFrom('webhook_deliveries').selectAll().where('webhook_id', '=', webhookId).orderBy('seq', 'desc').limit(limit).execute()).map(toDelivery);
  }

  async recordAttempt(id: string, owner: string, o: AttemptOutcome): Promise<boolean> {
    const r = await this.db
      .updateTable('webhook_deliveries')
      .set((eb) => ({
        status: o.status,
        attempts: eb('attempts', '+', 1),
        response_code: o.responseCode,
        duration_ms: o.durationMs,
        response_body: o.responseBody,
        lease_owner: null,
        lease_until: o.status === 'pending' ? (o.retryAt ?? null) : null,
        updated_at: o.updatedAt,
      }))
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
}
