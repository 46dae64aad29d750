import { randomBytes, randomUUID } from 'node:crypto';
import type { AccountRecord } from '../accounts/account-repo.js';
import { accountContext, type RequestContext } from '../auth/principal.js';
import type { CoreDeps } from '../core-deps.js';
import { badRequest, notFound } from '../errors.js';
import { DOMAIN_EVENT_TYPES, isDomainEventType, type DomainEvent, type DomainEventType } from '../events/domain-events.js';
import type { SecretService } from '../secrets/secret-service.js';
import type { StorageRepos } from '../storage.js';
import { isoNow } from '../time.js';
import type { WebhookSender } from './webhook-sender.js';
import type { DeliveryRecord, NewDelivery, WebhookRecord, WebhookStore } from './webhook-store.js';

/** Where webhook secrets are kept in the owner's secrets. */
export const WEBHOOK_SECRETS_NAMESPACE = 'webhooks';
const MAX_WEBHOOKS_PER_OWNER = 50;
export const MIN_SECRET_LENGTH = 16;

export interface WebhookInput {
  url: string;
  events: string[];
  secret: string;
}

export type OwnerKind = 'user' | 'org';

/** A webhook as answered: never its secret. */
export interface WebhookView {
  id: string;
  owner: string;
  url: string;
  events: DomainEventType[];
  created_at: string;
}

export interface DeliveryView {
  id: string;
  webhook_id: string;
  event: DomainEventType;
  status: DeliveryRecord['status'];
  attempts: number;
  response_code: number | null;
  duration_ms: number | null;
  response_body: string | null;
  replay_of: string | null;
  created_at: string;
  updated_at: string;
}

const view = (w: WebhookRecord, owner: string): WebhookView => ({ id: w.id, owner, url: w.url, events: w.events, created_at: w.createdAt });

export const deliveryView = (d: DeliveryRecord): DeliveryView => ({
  id: d.id,
  webhook_id: d.webhookId,
  event: d.event,
  status: d.status,
  attempts: d.attempts,
  response_code: d.responseCode,
  duration_ms: d.durationMs,
  response_body: d.responseBody,
  replay_of: d.replayOf,
  created_at: d.createdAt,
  updated_at: d.updatedAt,
});

/** A URL's origin and path without its query or credentials (what the audit log keeps). */
const safeUrl = (u: URL): string => `${u.origin}${u.pathname}`;

/**
 * Webhooks of users and organisations (issue 18, part 3): managed by the user (or an org's owners)
 * and administrators, each subscribed to some domain events. When an event is emitted, a delivery
 * is queued in the database for every webhook of the account owning the object that subscribed to
 * it and whose owner may read the object (the one read rule); the dispatcher sends it. The secret
 * is written to the secret store and is never answered or logged.
 */
export class WebhookService {
  constructor(
    private readonly deps: CoreDeps,
    private readonly store: WebhookStore,
    private readonly secrets: SecretService,
    private readonly sender: WebhookSender,
    /** Tells this process's dispatcher that deliveries were queued. */
    private readonly wake: () => void = () => undefined,
  ) {
    deps.events?.on({
      wants: (owner) => this.owners.has(owner),
      wantsAny: () => this.owners.size > 0,
      record: (tx, e) => this.enqueue(tx, e),
      committed: () => this.wake(),
    });
  }

  /**
   * The accounts that have webhooks, held in memory so that a write about anybody else's object
   * queries nothing for webhooks. Changed here on create and delete, and told by the store of
   * other processes' (PostgreSQL: a notification on commit; reread from the store then).
   */
  private readonly owners = new Set<number>();

  /** Loads the owners with webhooks and follows other processes' changes; before serving. */
  async start(): Promise<void> {
    await this.store.onOwnerChange((owner) => void this.reload(owner).catch(() => undefined));
    await this.reload(undefined);
  }

  /** Reads again whether `owner` has webhooks (every owner when undefined). */
  private async reload(owner: number | undefined): Promise<void> {
    if (owner === undefined) {
      const all = await this.store.owners();
      this.owners.clear();
      for (const o of all) this.owners.add(o);
    } else if ((await this.store.listByOwner(owner)).length > 0) this.owners.add(owner);
    else this.owners.delete(owner);
  }

  /** The account named, of the kind the route says (a user's route never reaches an org), and that the caller manages it. */
  private async managed(ctx: RequestContext, kind: OwnerKind, name: string): Promise<AccountRecord> {
    const account = await this.deps.storage.accounts.findByName(name.replace(/^@/, ''));
    if (!account || account.kind !== kind) throw notFound(`${kind === 'org' ? 'Organisation' : 'User'} not found: ${name.slice(0, 40)}`);
    await this.deps.policy.requireAccountManager(ctx, account);
    return account;
  }

  private async webhookOf(ctx: RequestContext, kind: OwnerKind, name: string, id: string): Promise<{ owner: AccountRecord; hook: WebhookRecord }> {
    const owner = await this.managed(ctx, kind, name);
    const hook = await this.store.find(id);
    if (!hook || hook.ownerAccountId !== owner.id) throw notFound(`Webhook not found: ${id.slice(0, 40)}`);
    return { owner, hook };
  }

  async create(ctx: RequestContext, kind: OwnerKind, name: string, input: WebhookInput): Promise<WebhookView> {
    this.deps.policy.requireWritable();
    const owner = await this.managed(ctx, kind, name);
    const url = this.checkUrl(input.url);
    const events = [...new Set(input.events)];
    const unknown = events.filter((e) => !isDomainEventType(e));
    if (events.length === 0) throw badRequest('events must name at least one event', [`known events: ${DOMAIN_EVENT_TYPES.join(', ')}`]);
    if (unknown.length > 0) throw badRequest(`Unknown event${unknown.length > 1 ? 's' : ''}: ${unknown.map((e) => e.slice(0, 60)).join(', ')}`, [`known events: ${DOMAIN_EVENT_TYPES.join(', ')}`]);
    if (input.secret.length < MIN_SECRET_LENGTH) throw badRequest(`secret must be at least ${MIN_SECRET_LENGTH} characters`);
    if ((await this.store.listByOwner(owner.id)).length >= MAX_WEBHOOKS_PER_OWNER) throw badRequest(`@${owner.name} has ${MAX_WEBHOOKS_PER_OWNER} webhooks already; delete one first`);
    const hook: WebhookRecord = { id: `wh_${randomBytes(10).toString('hex')}`, ownerAccountId: owner.id, url: url.href, events: events.filter(isDomainEventType), createdAt: isoNow(this.deps.clock) };
    await this.secrets.put(owner.name, WEBHOOK_SECRETS_NAMESPACE, hook.id, input.secret);
    try {
      await this.store.insert(hook);
    } catch (e) {
      await this.secrets.delete(owner.name, WEBHOOK_SECRETS_NAMESPACE, hook.id).catch(() => undefined);
      throw e;
    }
    this.owners.add(owner.id);
    await this.deps.audit.record(this.deps.storage.audit, ctx, 'webhook.create', `@${owner.name}`, { id: hook.id, url: safeUrl(url), events: hook.events });
    return view(hook, owner.name);
  }

  async list(ctx: RequestContext, kind: OwnerKind, name: string): Promise<WebhookView[]> {
    const owner = await this.managed(ctx, kind, name);
    return (await this.store.listByOwner(owner.id)).map((w) => view(w, owner.name));
  }

  async delete(ctx: RequestContext, kind: OwnerKind, name: string, id: string): Promise<void> {
    this.deps.policy.requireWritable();
    const { owner, hook } = await this.webhookOf(ctx, kind, name, id);
    if (!(await this.store.delete(hook.id))) throw notFound(`Webhook not found: ${id.slice(0, 40)}`);
    await this.reload(owner.id);
    await this.secrets.delete(owner.name, WEBHOOK_SECRETS_NAMESPACE, hook.id);
    await this.deps.audit.record(this.deps.storage.audit, ctx, 'webhook.delete', `@${owner.name}`, { id: hook.id });
  }

  async deliveries(ctx: RequestContext, kind: OwnerKind, name: string, id: string, limit: number): Promise<DeliveryView[]> {
    const { hook } = await this.webhookOf(ctx, kind, name, id);
    return (await this.store.listDeliveries(hook.id, limit)).map(deliveryView);
  }

  /** Sends a delivery's payload again, as a new delivery (its own id and attempts) that names the one it replays. */
  async replay(ctx: RequestContext, kind: OwnerKind, name: string, id: string, deliveryId: string): Promise<DeliveryView> {
    this.deps.policy.requireWritable();
    const { owner, hook } = await this.webhookOf(ctx, kind, name, id);
    const d = await this.store.findDelivery(deliveryId);
    if (!d || d.webhookId !== hook.id) throw notFound(`Delivery not found: ${deliveryId.slice(0, 60)}`);
    const again: NewDelivery = { id: randomUUID(), webhookId: hook.id, event: d.event, payload: d.payload, replayOf: d.id, createdAt: isoNow(this.deps.clock) };
    await this.store.enqueue([again]);
    await this.deps.audit.record(this.deps.storage.audit, ctx, 'webhook.replay', `@${owner.name}`, { id: hook.id, delivery: d.id, replay: again.id });
    this.wake();
    const queued = await this.store.findDelivery(again.id);
    return deliveryView(queued!);
  }

  /**
   * Queues, in the transaction `tx` of the change, a delivery of `e` for every webhook of the
   * object's owner that subscribed to it and whose owner may read the object.
   */
  private async enqueue(tx: StorageRepos, e: DomainEvent): Promise<void> {
    const hooks = (await tx.webhookOutbox.listByOwner(e.object.ownerAccountId)).filter((w) => w.events.includes(e.type));
    if (hooks.length === 0) return;
    const owner = await tx.accounts.findById(e.object.ownerAccountId);
    const at = isoNow(this.deps.clock);
    if (!owner || !(await this.deps.policy.canRead(accountContext(owner, 'webhooks', at), e.object))) return;
    const payload = JSON.stringify({ id: randomUUID(), type: e.type, created_at: at, owner: owner.name, data: e.data });
    await tx.webhookOutbox.enqueue(hooks.map((w) => ({ id: randomUUID(), webhookId: w.id, event: e.type, payload, replayOf: null, createdAt: at })));
  }

  private checkUrl(value: string): URL {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw badRequest('url must be an absolute http(s) URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw badRequest('url must be an absolute http(s) URL');
    if (url.username || url.password) throw badRequest('url must not carry credentials; the signature authenticates deliveries');
    const refused = this.sender.refusal(url);
    if (refused) throw badRequest(`url is refused: ${refused}`, ['allow the address with --egress-allow (AGENTRY_EGRESS_ALLOW) to deliver there']);
    return url;
  }
}
