import type { SessionEventRecord } from './session-store.js';

/**
 * How the processes of one deployment tell each other about session events: a notice that a
 * session's log grew (read the new events from the store), or a preview that is never stored
 * (text deltas while a model answers). On one process a LocalSessionBus is enough; on
 * PostgreSQL an adapter carries notices to every process (LISTEN/NOTIFY).
 */
export type SessionNotice =
  | {
      kind: 'appended';
      sessionId: string;
      seq: number;
      status?: string;
      /**
       * The records this append wrote (already committed), for this process's listeners only: a
       * stream that is caught up yields them without reading the store. Never sent to other
       * processes; a notice without them means "read the store".
       */
      records?: SessionEventRecord[];
    }
  | { kind: 'preview'; sessionId: string; afterSeq: number; event: Record<string, unknown> };

export interface SessionBus {
  /** Delivers the notice to this process's listeners at once and to other processes when there are any. */
  publish(n: SessionNotice): void;
  /** Calls `listener` for every notice; answers the unsubscribe function. */
  subscribe(listener: (n: SessionNotice) => void): () => void;
  close(): Promise<void>;
}

/** The bus of one process. */
export class LocalSessionBus implements SessionBus {
  private readonly listeners = new Set<(n: SessionNotice) => void>();

  publish(n: SessionNotice): void {
    this.deliver(n);
  }

  /** Hands a notice to this process's listeners (adapters call it for notices from elsewhere). */
  deliver(n: SessionNotice): void {
    for (const l of [...this.listeners]) {
      try {
        l(n);
      } catch {
        /* a listener's failure is its own */
      }
    }
  }

  subscribe(listener: (n: SessionNotice) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}
