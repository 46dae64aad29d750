import type { RequestContext } from '../auth/principal.js';
import { badRequest, conflict, forbidden, notFound, preconditionFailed } from '../errors.js';
import { newManagedId } from '../managed/ids.js';
import { ownedObject, writer, type ManagedDeps } from '../managed/managed-deps.js';
import type { ManagedObjectRecord } from '../managed/managed-storage.js';
import { newMetadata, patchMetadata, type Metadata } from '../managed/metadata.js';
import { decodePageToken, encodePageToken, type Paged } from '../managed/page-token.js';
import type { StorageRepos } from '../storage.js';
import { isoNow } from '../time.js';
import type { SessionBus } from './event-bus.js';
import type { SessionRecord } from './session-store.js';
import { newManagedObject } from '../managed/new-managed-object.js';

export type WorkState = 'queued' | 'starting' | 'active' | 'stopping' | 'stopped';

/** A work item as the SDK's `BetaSelfHostedWork` shows it. */
export interface WorkView {
  type: 'work';
  id: string;
  environment_id: string;
  state: WorkState;
  data: { type: 'session'; id: string };
  metadata: Metadata;
  secret: string | null;
  created_at: string;
  acknowledged_at: string | null;
  started_at: string | null;
  latest_heartbeat_at: string | null;
  stop_requested_at: string | null;
  stopped_at: string | null;
}

export interface HeartbeatView {
  type: 'work_heartbeat';
  last_heartbeat: string;
  lease_extended: boolean;
  state: WorkState;
  ttl_seconds: number;
}

export interface WorkStatsView {
  type: 'work_queue_stats';
  depth: number;
  pending: number;
  oldest_queued_at: string | null;
  workers_polling: number | null;
}

/** What a work item keeps besides the managed object's own columns. */
interface WorkData {
  state: WorkState;
  session_id: string;
  metadata: Metadata;
  acknowledged_at: string | null;
  started_at: string | null;
  latest_heartbeat_at: string | null;
  stop_requested_at: string | null;
  stopped_at: string | null;
  /** When a poll last handed it out (queued items only), so another poll leaves it alone for a while. */
  polled_at: string | null;
  /** Until when the worker that acknowledged it holds it; after that a poll hands it out again. */
  lease_until: string | null;
  ttl_seconds: number;
}

export interface EnvironmentWorkOptions {
  /** The lease an ack gives and a heartbeat extends by when it asks for no TTL (default 60 s). */
  defaultTtlSeconds?: number;
}

const NO_HEARTBEAT = 'NO_HEARTBEAT';
const MAX_TTL_SECONDS = 600;
const DEFAULT_RECLAIM_MS = 5_000;
const QUEUE_SCAN = 500;
const POLLING_WINDOW_MS = 30_000;

const dataOf = (o: ManagedObjectRecord): WorkData => o.data as unknown as WorkData;

const isSelfHosted = (config: unknown): boolean => (config as Record<string, unknown> | undefined)?.type === 'self_hosted';

/**
 * The work queue of self-hosted environments (issue 14; the SDK's `environments.work`): a session
 * of a `self_hosted` environment gets a work item when it starts working; a worker outside the
 * server polls for it (with the environment's key or its owner's token), acknowledges it, keeps a
 * lease on it by heartbeats, runs the session's tool calls and posts `user.tool_result`, and stops
 * it. A lease that runs out puts the item back in the queue for another worker; the first worker's
 * next heartbeat is then refused with 412 `heartbeat_precondition_failed`.
 */
export class EnvironmentWorkService {
  private readonly defaultTtl: number;
  /** Worker ids seen polling, per environment, with when (this process's view; for stats). */
  private readonly pollers = new Map<string, Map<string, number>>();

  constructor(
    private readonly deps: ManagedDeps,
    private readonly bus: SessionBus,
    opts: EnvironmentWorkOptions = {},
  ) {
    this.defaultTtl = opts.defaultTtlSeconds ?? 60;
  }

  private now(): string {
    return isoNow(this.deps.clock);
  }

  /**
   * Queues a work item for a session of a self-hosted environment unless one is live (inside the
   * transaction that wakes or creates the session). Answers whether one was queued.
   */
  async ensureQueued(tx: StorageRepos, s: SessionRecord): Promise<boolean> {
    if (!isSelfHosted(s.data.environment)) return false;
    const live = await tx.managed.referrers('environment_work', s.id, 1);
    if (live.length > 0) return false;
    const now = this.now();
    const data: WorkData = {
      state: 'queued',
      session_id: s.id,
      metadata: {},
      acknowledged_at: null,
      started_at: null,
      latest_heartbeat_at: null,
      stop_requested_at: null,
      stopped_at: null,
      polled_at: null,
      lease_until: null,
      ttl_seconds: this.defaultTtl,
    };
    await tx.managed.insert(
      newManagedObject(
        {
          id: newManagedId('work'),
          kind: 'environment_work',
          accountId: s.accountId,
          parentId: s.environmentId,
          refId: s.id,
          data: data as unknown as Record<string, unknown>,
        },
        now,
      ),
    );
    return true;
  }

  /** Stops the live work items of a session that is being deleted (inside its transaction). */
  async stopForSession(tx: StorageRepos, sessionId: string): Promise<void> {
    for (const o of await tx.managed.referrers('environment_work', sessionId, 100)) {
      const d = dataOf(o);
      const now = this.now();
      await this.save(tx, o, { ...d, state: 'stopped', stop_requested_at: d.stop_requested_at ?? now, stopped_at: now, lease_until: null });
    }
  }

  view(o: ManagedObjectRecord): WorkView {
    const d = dataOf(o);
    return {
      type: 'work',
      id: o.id,
      environment_id: o.parentId ?? '',
      state: d.state,
      data: { type: 'session', id: d.session_id },
      metadata: d.metadata ?? {},
      secret: null,
      created_at: o.createdAt,
      acknowledged_at: d.acknowledged_at,
      started_at: d.started_at,
      latest_heartbeat_at: d.latest_heartbeat_at,
      stop_requested_at: d.stop_requested_at,
      stopped_at: d.stopped_at,
    };
  }

  /**
   * The environment a work call is about, checked: with an environment key, only its own; with a
   * token, an environment of the caller's account. It must be self-hosted.
   */
  private async environment(tx: StorageRepos, ctx: RequestContext, environmentId: string, lock = false): Promise<ManagedObjectRecord> {
    const p = writer(this.deps, ctx);
    if (ctx.environmentKey !== undefined && ctx.environmentKey !== environmentId) throw forbidden(`This environment key belongs to another environment and cannot reach ${environmentId}`);
    const env = await ownedObject(tx, 'environment', environmentId, p, lock);
    if (!isSelfHosted((env.data as Record<string, unknown>).config)) throw badRequest(`Environment ${environmentId} is not self_hosted: its sessions' tools run on the server, there is no work queue`);
    return env;
  }

  /** A token-only call (the SDK documents that retrieve, update and stats refuse the environment key). */
  private tokenOnly(ctx: RequestContext, what: string): void {
    if (ctx.environmentKey !== undefined) throw forbidden(`${what} takes an API token, not the environment key`);
  }

  private async item(tx: StorageRepos, environmentId: string, workId: string, lock = false): Promise<ManagedObjectRecord> {
    const o = lock ? await tx.managed.lock(workId) : await tx.managed.find(workId);
    if (!o || o.kind !== 'environment_work' || o.parentId !== environmentId) throw notFound(`Work item ${workId} not found in environment ${environmentId}`);
    return o;
  }

  private async save(tx: StorageRepos, o: ManagedObjectRecord, d: WorkData): Promise<ManagedObjectRecord> {
    const now = this.now();
    const archivedAt = d.state === 'stopped' ? (o.archivedAt ?? now) : null;
    await tx.managed.update(o.id, { data: d as unknown as Record<string, unknown>, updatedAt: now, archivedAt });
    return { ...o, data: d as unknown as Record<string, unknown>, updatedAt: now, archivedAt };
  }

  /** Items of the environment, oldest first (live ones unless `archived`). */
  private async items(tx: StorageRepos, env: ManagedObjectRecord, archived: 'exclude' | 'include'): Promise<ManagedObjectRecord[]> {
    const rows = await tx.managed.list({ kind: 'environment_work', accountIds: [env.accountId], parentId: env.id, archived, limit: QUEUE_SCAN });
    return rows.reverse();
  }

  /** Lease bookkeeping a poll does first: an item whose lease ran out goes back to the queue (a stopping one stops). */
  private expire(d: WorkData, nowMs: number): WorkData | undefined {
    if (d.lease_until === null || Date.parse(d.lease_until) > nowMs) return undefined;
    if (d.state === 'starting' || d.state === 'active') {
      return { ...d, state: 'queued', acknowledged_at: null, started_at: null, latest_heartbeat_at: null, polled_at: null, lease_until: null };
    }
    if (d.state === 'stopping') return { ...d, state: 'stopped', stopped_at: new Date(nowMs).toISOString(), lease_until: null };
    return undefined;
  }

  /** One try: hands out the oldest queued item nobody polled lately, or null. */
  private async claim(ctx: RequestContext, environmentId: string, reclaimMs: number): Promise<WorkView | null> {
    return this.deps.storage.transaction(async (tx) => {
      // The environment's row lock makes concurrent polls take turns.
      const env = await this.environment(tx, ctx, environmentId, true);
      const nowMs = Date.parse(this.now());
      for (const o of await this.items(tx, env, 'exclude')) {
        let d = dataOf(o);
        const expired = this.expire(d, nowMs);
        if (expired) {
          d = expired;
          await this.save(tx, o, d);
        }
        if (d.state !== 'queued') continue;
        if (d.polled_at !== null && nowMs - Date.parse(d.polled_at) < reclaimMs) continue;
        return this.view(await this.save(tx, o, { ...d, polled_at: new Date(nowMs).toISOString() }));
      }
      return null;
    });
  }

  /** GET …/work/poll: the next work item, waiting up to `blockMs` (1–999) for one to arrive. */
  async poll(ctx: RequestContext, environmentId: string, q: { blockMs?: number; reclaimOlderThanMs?: number; workerId?: string }): Promise<WorkView | null> {
    if (q.blockMs !== undefined && (!Number.isInteger(q.blockMs) || q.blockMs < 1 || q.blockMs > 999)) throw badRequest('block_ms must be a whole number from 1 to 999');
    if (q.reclaimOlderThanMs !== undefined && (!Number.isInteger(q.reclaimOlderThanMs) || q.reclaimOlderThanMs < 0)) throw badRequest('reclaim_older_than_ms must be a whole number ≥ 0');
    const reclaimMs = q.reclaimOlderThanMs ?? DEFAULT_RECLAIM_MS;
    if (q.workerId) this.notePoller(environmentId, q.workerId.slice(0, 200));
    const deadline = Date.now() + (q.blockMs ?? 0);
    for (;;) {
      // Listen before looking, so work queued between the look and the wait is not missed.
      let wake: (() => void) | undefined;
      let woken = false;
      const unsubscribe = this.bus.subscribe((n) => {
        if (n.kind === 'appended' && n.status === 'running') {
          woken = true;
          wake?.();
        }
      });
      try {
        const got = await this.claim(ctx, environmentId, reclaimMs);
        if (got) return got;
        const left = deadline - Date.now();
        if (left <= 0) return null;
        if (!woken) {
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, left);
            wake = () => {
              clearTimeout(t);
              resolve();
            };
          });
        }
      } finally {
        unsubscribe();
      }
    }
  }

  private notePoller(environmentId: string, workerId: string): void {
    const now = Date.now();
    let seen = this.pollers.get(environmentId);
    if (!seen) this.pollers.set(environmentId, (seen = new Map()));
    seen.set(workerId, now);
    for (const [w, at] of seen) if (now - at > POLLING_WINDOW_MS) seen.delete(w);
  }

  /** POST …/work/:id/ack: queued → starting, out of the queue, under a lease. */
  async ack(ctx: RequestContext, environmentId: string, workId: string): Promise<WorkView> {
    return this.deps.storage.transaction(async (tx) => {
      await this.environment(tx, ctx, environmentId);
      const o = await this.item(tx, environmentId, workId, true);
      const d = dataOf(o);
      if (d.state !== 'queued') throw conflict(`Work item ${workId} is ${d.state}, not queued: it was already acknowledged`);
      const now = this.now();
      const until = new Date(Date.parse(now) + d.ttl_seconds * 1000).toISOString();
      return this.view(await this.save(tx, o, { ...d, state: 'starting', acknowledged_at: now, polled_at: null, lease_until: until }));
    });
  }

  /**
   * POST …/work/:id/heartbeat: extends the lease. `expected_last_heartbeat` (NO_HEARTBEAT for the
   * first) must match the stored heartbeat while the item is live, else 412 with the lease as held.
   */
  async heartbeat(ctx: RequestContext, environmentId: string, workId: string, q: { desiredTtlSeconds?: number; expectedLastHeartbeat?: string }): Promise<HeartbeatView> {
    if (q.desiredTtlSeconds !== undefined && (!Number.isFinite(q.desiredTtlSeconds) || q.desiredTtlSeconds <= 0)) throw badRequest('desired_ttl_seconds must be a positive number');
    return this.deps.storage.transaction(async (tx) => {
      await this.environment(tx, ctx, environmentId);
      const o = await this.item(tx, environmentId, workId, true);
      let d = dataOf(o);
      const nowMs = Date.parse(this.now());
      if (d.state === 'stopping' || d.state === 'stopped') {
        return { type: 'work_heartbeat' as const, last_heartbeat: d.latest_heartbeat_at ?? '', lease_extended: false, state: d.state, ttl_seconds: d.ttl_seconds };
      }
      const stored = d.latest_heartbeat_at ?? NO_HEARTBEAT;
      if (q.expectedLastHeartbeat !== undefined && q.expectedLastHeartbeat !== stored) {
        throw preconditionFailed(`expected_last_heartbeat does not match the stored heartbeat of work item ${workId}: another worker may hold its lease`, {
          details: {
            error_code: 'heartbeat_precondition_failed',
            current_state: { last_heartbeat: d.latest_heartbeat_at, lease_extended: false, state: d.state, ttl_seconds: d.ttl_seconds },
          },
        });
      }
      if (d.state === 'queued') throw conflict(`Work item ${workId} is queued: acknowledge it before sending heartbeats`);
      const ttl = Math.min(MAX_TTL_SECONDS, Math.max(1, Math.round(q.desiredTtlSeconds ?? d.ttl_seconds)));
      // Every heartbeat gets a value of its own, so an echo of an older one never matches.
      let beatMs = nowMs;
      if (d.latest_heartbeat_at !== null && Date.parse(d.latest_heartbeat_at) >= beatMs) beatMs = Date.parse(d.latest_heartbeat_at) + 1;
      const beat = new Date(beatMs).toISOString();
      d = { ...d, state: 'active', started_at: d.started_at ?? beat, latest_heartbeat_at: beat, ttl_seconds: ttl, lease_until: new Date(nowMs + ttl * 1000).toISOString() };
      await this.save(tx, o, d);
      return { type: 'work_heartbeat' as const, last_heartbeat: beat, lease_extended: true, state: d.state, ttl_seconds: ttl };
    });
  }

  /** POST …/work/:id/stop: graceful (stopping, the worker's next heartbeat learns it) or forced (stopped). */
  async stop(ctx: RequestContext, environmentId: string, workId: string, force: boolean): Promise<WorkView> {
    return this.deps.storage.transaction(async (tx) => {
      await this.environment(tx, ctx, environmentId);
      const o = await this.item(tx, environmentId, workId, true);
      const d = dataOf(o);
      if (d.state === 'stopped') throw conflict(`Work item ${workId} is already stopped`);
      const now = this.now();
      const next: WorkData =
        force || d.state === 'queued'
          ? { ...d, state: 'stopped', stop_requested_at: d.stop_requested_at ?? now, stopped_at: now, lease_until: null }
          : { ...d, state: 'stopping', stop_requested_at: d.stop_requested_at ?? now };
      return this.view(await this.save(tx, o, next));
    });
  }

  async get(ctx: RequestContext, environmentId: string, workId: string): Promise<WorkView> {
    this.tokenOnly(ctx, 'Retrieving a work item');
    return this.deps.storage.transaction(async (tx) => {
      await this.environment(tx, ctx, environmentId);
      return this.view(await this.item(tx, environmentId, workId));
    });
  }

  async update(ctx: RequestContext, environmentId: string, workId: string, metadata: Record<string, string | null>): Promise<WorkView> {
    this.tokenOnly(ctx, 'Updating a work item');
    return this.deps.storage.transaction(async (tx) => {
      await this.environment(tx, ctx, environmentId);
      const o = await this.item(tx, environmentId, workId, true);
      const d = dataOf(o);
      return this.view(await this.save(tx, o, { ...d, metadata: patchMetadata(d.metadata ?? newMetadata(undefined), metadata) }));
    });
  }

  /** Work items of the environment, newest first, stopped ones included. */
  async list(ctx: RequestContext, environmentId: string, q: { limit: number; page?: string }): Promise<Paged<WorkView>> {
    return this.deps.storage.transaction(async (tx) => {
      const env = await this.environment(tx, ctx, environmentId);
      const rows = await tx.managed.list({ kind: 'environment_work', accountIds: [env.accountId], parentId: env.id, archived: 'include', beforeSeq: decodePageToken(q.page), limit: q.limit + 1 });
      const more = rows.length > q.limit;
      const page = rows.slice(0, q.limit);
      return { rows: page.map((o) => this.view(o)), nextPage: more ? encodePageToken(page[page.length - 1].seq) : null };
    });
  }

  async stats(ctx: RequestContext, environmentId: string): Promise<WorkStatsView> {
    this.tokenOnly(ctx, 'Work queue statistics');
    return this.deps.storage.transaction(async (tx) => {
      const env = await this.environment(tx, ctx, environmentId);
      const nowMs = Date.parse(this.now());
      let depth = 0;
      let pending = 0;
      let oldest: string | null = null;
      for (const o of await this.items(tx, env, 'exclude')) {
        const d = this.expire(dataOf(o), nowMs) ?? dataOf(o);
        if (d.state !== 'queued') continue;
        oldest ??= o.createdAt;
        if (d.polled_at !== null && nowMs - Date.parse(d.polled_at) < DEFAULT_RECLAIM_MS) pending++;
        else depth++;
      }
      const seen = this.pollers.get(environmentId);
      const polling = seen ? [...seen.values()].filter((at) => Date.now() - at <= POLLING_WINDOW_MS).length : 0;
      return { type: 'work_queue_stats' as const, depth, pending, oldest_queued_at: oldest, workers_polling: polling };
    });
  }
}
