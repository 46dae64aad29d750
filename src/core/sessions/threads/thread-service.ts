import type { RequestContext } from '../../auth/principal.js';
import { badRequest, conflict, notFound } from '../../errors.js';
import { writer, type ManagedDeps } from '../../managed/managed-deps.js';
import { decodePageToken, encodePageToken, type Paged } from '../../managed/page-token.js';
import type { SessionService } from '../session-service.js';
import type { StreamItem, StreamOptions } from '../session-stream.js';
import type { SessionRecord } from '../session-store.js';
import type { ThreadStatus } from './thread-store.js';
import { childThreadOf, primaryThreadId, primaryThreadView, threadView, type ThreadView } from './thread-view.js';

export const THREAD_STATUSES: readonly ThreadStatus[] = ['idle', 'running', 'rescheduling', 'terminated'];

export interface ThreadListInput {
  limit: number;
  page?: string;
  statuses?: string[];
}

export interface ThreadEventListInput {
  limit: number;
  page?: string;
  order?: 'asc' | 'desc';
}

const MAX_EVENTS_PAGE = 1000;

/**
 * The threads of a session (`/v1/sessions/:id/threads`): the primary thread (the session itself)
 * and the child threads its coordinator spawned. Threads are private like their session: a
 * session the caller cannot read has no threads they can see.
 */
export class ThreadService {
  constructor(
    private readonly deps: ManagedDeps,
    private readonly sessions: SessionService,
  ) {}

  async list(ctx: RequestContext, sessionId: string, q: ThreadListInput): Promise<Paged<ThreadView>> {
    const { s, primary } = await this.session(ctx, sessionId);
    const statuses = q.statuses?.length ? q.statuses : undefined;
    for (const st of statuses ?? []) if (!(THREAD_STATUSES as readonly string[]).includes(st)) throw badRequest(`status '${st.slice(0, 40)}' is not one of ${THREAD_STATUSES.join(', ')}`);
    const after = decodePageToken(q.page);
    const now = this.sessions.log.now();
    // The primary thread comes first, at position 0; child threads follow in the order they were made.
    const rows: Array<{ seq: number; view: ThreadView }> = after === undefined && (!statuses || statuses.includes(primary.status)) ? [{ seq: 0, view: primary }] : [];
    const children = await this.deps.storage.sessionThreads.list(s.id, { statuses: statuses as ThreadStatus[] | undefined, afterSeq: after, limit: q.limit + 1 - rows.length });
    const all = rows.concat(children.map((t) => ({ seq: t.seq, view: threadView(t, now) })));
    const page = all.slice(0, q.limit);
    return { rows: page.map((r) => r.view), nextPage: all.length > q.limit ? encodePageToken(page[page.length - 1].seq) : null };
  }

  async get(ctx: RequestContext, sessionId: string, threadId: string): Promise<ThreadView> {
    const { s, primary } = await this.session(ctx, sessionId);
    if (threadId === primary.id) return primary;
    const t = await this.deps.storage.sessionThreads.find(s.id, threadId);
    if (!t) throw this.missing(threadId);
    return threadView(t, this.sessions.log.now());
  }

  /** Archives a child thread: read-only afterwards (a new call of its agent starts a new thread). */
  async archive(ctx: RequestContext, sessionId: string, threadId: string): Promise<ThreadView> {
    const p = writer(this.deps, ctx);
    const { s } = await this.session(ctx, sessionId);
    if (s.accountId !== p.account.id) throw notFound(`Session ${sessionId} not found`);
    if (threadId === primaryThreadId(s.id)) throw badRequest(`Thread ${threadId} is the session's primary thread: archive the session instead`);
    const view = await this.deps.storage.transaction(async (tx) => {
      // Under the session's lock, so a thread is not woken while it is being archived.
      await tx.sessions.lock(s.id);
      const t = await tx.sessionThreads.find(s.id, threadId);
      if (!t) throw this.missing(threadId);
      const now = this.sessions.log.now();
      if (t.archivedAt) return threadView(t, now);
      if (t.status === 'running' || t.status === 'rescheduling')
        throw conflict(`Thread ${threadId} is ${t.status} and cannot be archived: interrupt it (user.interrupt with session_thread_id) and wait until it is idle`);
      await tx.sessionThreads.update(t.id, { archivedAt: now, updatedAt: now });
      await this.deps.audit.record(tx.audit, ctx, 'managed.session.thread.archive', t.id, { session: s.id });
      return threadView({ ...t, archivedAt: now, updatedAt: now }, now);
    });
    return view;
  }

  /** A thread's events (the primary thread's: those no child thread owns), paged like a session's. */
  async events(ctx: RequestContext, sessionId: string, threadId: string, q: ThreadEventListInput): Promise<Paged<Record<string, unknown>>> {
    const { s, child } = await this.thread(ctx, sessionId, threadId);
    if (!Number.isInteger(q.limit) || q.limit < 1 || q.limit > MAX_EVENTS_PAGE) throw badRequest(`limit must be a whole number from 1 to ${MAX_EVENTS_PAGE}`);
    const order = q.order ?? 'asc';
    const position = decodePageToken(q.page);
    const rows = await this.deps.storage.sessions.listEvents(s.id, {
      order,
      afterSeq: order === 'asc' ? position : undefined,
      beforeSeq: order === 'desc' ? position : undefined,
      threadId: child ?? null,
      limit: q.limit + 1,
    });
    const page = rows.slice(0, q.limit);
    return { rows: page.map((r) => r.event), nextPage: rows.length > q.limit ? encodePageToken(page[page.length - 1].seq) : null };
  }

  /** A thread's live events (SSE): the session's stream, narrowed to the thread. */
  async openStream(ctx: RequestContext, sessionId: string, threadId: string, opts: StreamOptions): Promise<AsyncGenerator<StreamItem>> {
    const { child } = await this.thread(ctx, sessionId, threadId);
    return this.sessions.openStream(ctx, sessionId, { ...opts, only: (e) => childThreadOf(e) === child });
  }

  private missing(threadId: string) {
    return notFound(`Thread ${threadId.slice(0, 100)} not found`);
  }

  /** The session if the caller may read it (else 404, like the session routes), and its primary thread. */
  private async session(ctx: RequestContext, sessionId: string): Promise<{ s: SessionRecord; primary: ThreadView }> {
    const view = await this.sessions.get(ctx, sessionId);
    const s = await this.deps.storage.sessions.find(view.id);
    if (!s) throw notFound(`Session ${sessionId} not found`);
    return { s, primary: primaryThreadView(s, view) };
  }

  /** The session and the thread's id among its children (undefined: the primary thread). */
  private async thread(ctx: RequestContext, sessionId: string, threadId: string): Promise<{ s: SessionRecord; child: string | undefined }> {
    const { s, primary } = await this.session(ctx, sessionId);
    if (threadId === primary.id) return { s, child: undefined };
    const t = await this.deps.storage.sessionThreads.find(s.id, threadId);
    if (!t) throw this.missing(threadId);
    return { s, child: t.id };
  }
}
