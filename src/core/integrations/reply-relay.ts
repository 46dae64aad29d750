import type { ManagedDeps } from '../managed/managed-deps.js';
import type { ManagedObjectRecord } from '../managed/managed-storage.js';
import { PendingWork } from '../pending-work.js';
import type { StreamItem } from '../sessions/session-stream.js';
import { isoNow } from '../time.js';
import type { IntegrationCredentials } from './integration-credentials.js';
import type { ChatApi, IntegrationProvider, PostResult } from './provider.js';

const MAX_POST_ATTEMPTS = 3;

/**
 * The agent's replies relayed back to the platform: each turn an inbound message started is read
 * from its session's stream until it ends, and its text posted to the thread (with retries when rate
 * limited); the integration keeps the last delivery's outcome. Closing stops waiting for replies.
 */
export class ReplyRelays {
  private readonly relays = new PendingWork();
  private readonly closing = new AbortController();

  constructor(
    private readonly deps: ManagedDeps,
    private readonly credentials: IntegrationCredentials,
    /** The chat platforms' Web APIs (throws when none is wired). */
    private readonly chat: () => ChatApi,
    private readonly onError?: (e: unknown, integrationId: string) => void,
  ) {}

  /** Aborted when the service closes: the streams relays read end with it. */
  get signal(): AbortSignal {
    return this.closing.signal;
  }

  /** Relays the reply to the turn of `userEventId`, in the background (tracked until it settles). */
  start(o: ManagedObjectRecord, provider: IntegrationProvider, owner: string, stream: AsyncGenerator<StreamItem>, userEventId: string | undefined, where: { channel: string; threadId: string }): void {
    void this.relays.track(this.run(o, provider, owner, stream, userEventId, where));
  }

  /** Stops waiting for replies (server shutdown). */
  async close(): Promise<void> {
    this.closing.abort();
    await this.relays.settled();
  }

  /** Reads the session until the turn started by `userEventId` ends, then posts the agent's text back. */
  private async run(
    o: ManagedObjectRecord,
    provider: IntegrationProvider,
    owner: string,
    stream: AsyncGenerator<StreamItem>,
    userEventId: string | undefined,
    where: { channel: string; threadId: string },
  ): Promise<void> {
    try {
      let seen = userEventId === undefined;
      const texts: string[] = [];
      let stop: unknown;
      for await (const item of stream) {
        if (item.kind !== 'event') continue;
        const ev = item.event;
        if (!seen) {
          seen = ev.id === userEventId;
          continue;
        }
        if (ev.type === 'agent.message' && Array.isArray(ev.content)) {
          for (const b of ev.content as Array<Record<string, unknown>>) if (b.type === 'text' && typeof b.text === 'string') texts.push(b.text);
        }
        if (ev.type === 'session.status_idle' || ev.type === 'session.status_terminated' || ev.type === 'session.deleted') {
          stop = (ev.stop_reason as Record<string, unknown> | undefined)?.type;
          break;
        }
      }
      const text = texts.join('\n\n').trim();
      if (this.closing.signal.aborted || text === '' || (stop !== undefined && stop !== 'end_turn')) return;
      const credentials = await this.credentials.read(owner, o);
      let result: PostResult;
      for (let attempt = 1; ; attempt++) {
        try {
          result = await provider.postReply(this.chat(), String(o.data.api_base_url), credentials, { ...where, text });
        } catch (e) {
          this.onError?.(e, o.id);
          result = { ok: false, error: 'the platform could not be reached' };
        }
        // Rate limited: wait as the platform says (at most a minute), up to three attempts in all.
        if (result.ok || result.retryAfterSeconds === undefined || attempt >= MAX_POST_ATTEMPTS || this.closing.signal.aborted) break;
        await this.pause(Math.min(result.retryAfterSeconds, 60) * 1000);
      }
      await this.recordDelivery(o.id, result);
    } catch (e) {
      this.onError?.(e, o.id);
    }
  }

  /** Waits `ms`, or less when the service closes. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.closing.signal.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.closing.signal.addEventListener('abort', done);
    });
  }

  private async recordDelivery(id: string, result: PostResult): Promise<void> {
    await this.deps.storage.transaction(async (tx) => {
      const cur = await tx.managed.lock(id);
      if (!cur) return;
      const at = isoNow(this.deps.clock);
      await tx.managed.update(id, { data: { ...cur.data, last_delivery: { ok: result.ok, error: result.ok ? null : result.error.slice(0, 200), at } }, updatedAt: at });
    });
  }
}
