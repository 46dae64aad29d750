import { SPEC_EVENT_TYPES } from './events.js';
import type { SessionBus, SessionNotice } from './event-bus.js';
import type { SessionEventRecord, SessionRepo } from './session-store.js';

export interface StreamOptions {
  /** Where to start: after this sequence number (0: the whole log); absent: only what happens from now. */
  afterSeq?: number;
  /** Admit extension events (chunks) besides the spec union. */
  includeChunks?: boolean;
  /** `event_deltas[]`: which event types to preview as event_start / event_delta. */
  deltas?: ReadonlySet<string>;
  /** End after the first session.status_idle (POST /messages). */
  untilIdle?: boolean;
  /** Only the events (and previews) this admits: a thread's stream. */
  only?: (event: Record<string, unknown>) => boolean;
  signal: AbortSignal;
}

export type StreamItem = { kind: 'event'; seq: number; event: Record<string, unknown> } | { kind: 'ping'; seq: number };

/** Records a stream holds from notices before it falls back to reading the store (a slow reader). */
const MAX_HANDED_RECORDS = 1000;

/** What a stream reads from: the store's events, this process's notices, and its bounds. */
export interface SessionStreamDeps {
  sessions: Pick<SessionRepo, 'listEvents'>;
  bus: SessionBus;
  /** Milliseconds of silence before a ping. */
  heartbeatMs: number;
  /** Previews kept for a stream that does not read; more are dropped. */
  maxQueuedPreviews: number;
}

/**
 * A session's events from `afterSeq` on, then live: persisted events are read from the store at
 * the reader's pace (nothing piles up for a slow reader), previews are queued up to a bound and
 * dropped beyond it, and a ping is produced after `heartbeatMs` of silence.
 */
export async function* sessionStream(deps: SessionStreamDeps, sessionId: string, opts: StreamOptions & { afterSeq: number }): AsyncGenerator<StreamItem> {
  const previews: Array<{ afterSeq: number; event: Record<string, unknown> }> = [];
  let dirty = true;
  let wake: (() => void) | undefined;
  let gone = false;
  const wanted = (event: Record<string, unknown>): boolean => {
    const t = event.type as string;
    if (t === 'event_start') return opts.deltas?.has((event.event as Record<string, unknown>)?.type as string) ?? false;
    if (t === 'event_delta') return opts.deltas?.has(event.preview_of as string) ?? false;
    return opts.includeChunks === true;
  };
  // Records this process's notices carried (committed already): yielded without a read of the
  // store when they follow on from the cursor. Bounded: past it, a slow reader reads the store.
  let handed: SessionEventRecord[] = [];
  const unsubscribe = deps.bus.subscribe((n: SessionNotice) => {
    if (n.sessionId !== sessionId) return;
    if (n.kind === 'appended') {
      if (n.status === 'deleted') gone = true;
      if (n.records && handed.length + n.records.length <= MAX_HANDED_RECORDS) handed.push(...n.records);
      else {
        dirty = true;
        handed = [];
      }
    } else if (wanted(n.event) && previews.length < deps.maxQueuedPreviews) previews.push({ afterSeq: n.afterSeq, event: n.event });
    wake?.();
  });
  const onAbort = () => wake?.();
  opts.signal.addEventListener('abort', onAbort);
  let cursor = opts.afterSeq;
  // What this stream shows: the spec's event types (chunks only when asked), of its thread when it has one.
  const admits = (r: SessionEventRecord): boolean => (SPEC_EVENT_TYPES.has(r.type) || opts.includeChunks === true) && (!opts.only || opts.only(r.event));
  try {
    while (!opts.signal.aborted) {
      const justRead = dirty;
      if (dirty) {
        dirty = false;
        for (;;) {
          const rows = await deps.sessions.listEvents(sessionId, { order: 'asc', afterSeq: cursor, limit: 200 });
          for (const r of rows) {
            cursor = r.seq;
            if (!admits(r)) continue;
            yield { kind: 'event', seq: r.seq, event: r.event };
            // A turn ends idle, or with the session terminated (an unrecoverable error).
            if (opts.untilIdle && (r.type === 'session.status_idle' || r.type === 'session.status_terminated')) return;
          }
          if (rows.length < 200) break;
        }
      }
      while (handed.length > 0) {
        const r = handed[0];
        if (r.seq <= cursor) {
          handed.shift();
          continue;
        }
        if (r.seq !== cursor + 1) {
          // A gap (appends this process did not see): the store has them.
          dirty = true;
          handed = [];
          break;
        }
        handed.shift();
        cursor = r.seq;
        if (!admits(r)) continue;
        yield { kind: 'event', seq: r.seq, event: r.event };
        if (opts.untilIdle && (r.type === 'session.status_idle' || r.type === 'session.status_terminated')) return;
      }
      while (previews.length > 0 && previews[0].afterSeq <= cursor) {
        const p = previews.shift()!;
        if (p.afterSeq === cursor && (!opts.only || opts.only(p.event))) {
          const { preview_of: _omit, ...event } = p.event;
          yield { kind: 'event', seq: cursor, event };
        }
      }
      if (gone) return;
      if (dirty || handed.length > 0 || (previews.length > 0 && previews[0].afterSeq <= cursor)) continue;
      if (previews.length > 0) {
        // A preview of events this reader has not read yet: read them first; if they are not
        // there after a read, the preview cannot be placed and is dropped.
        if (justRead) previews.shift();
        else dirty = true;
        continue;
      }
      const pinged = await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(true), deps.heartbeatMs);
        wake = () => {
          clearTimeout(t);
          resolve(false);
        };
      });
      wake = undefined;
      if (pinged && !opts.signal.aborted) {
        yield { kind: 'ping', seq: cursor };
        // A notice can be missed (a process without a shared bus wrote): look again on every beat.
        dirty = true;
      }
    }
  } finally {
    unsubscribe();
    opts.signal.removeEventListener('abort', onAbort);
  }
}
