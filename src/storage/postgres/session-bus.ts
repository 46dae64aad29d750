import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { LocalSessionBus, type SessionBus, type SessionNotice } from '../../core/sessions/event-bus.js';

/** NOTIFY payloads must stay under 8000 bytes; a preview larger than this is kept to this process. */
const MAX_PAYLOAD = 7900;

/**
 * Session notices between every server process on one PostgreSQL database: each notice is
 * delivered here at once and sent with pg_notify; the other processes LISTEN and deliver it to
 * their own listeners (readers then read the new events from the store, so a lost notice costs
 * latency, never an event: a reconnect tells every reader to look again).
 */
export class PostgresSessionBus implements SessionBus {
  private readonly local = new LocalSessionBus();
  private readonly origin = randomBytes(6).toString('hex');
  private client: pg.Client | undefined;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;
  private readonly channel: string;
  private readonly known = new Set<string>();
  /** Notifies go out one after another on the one client (pg refuses overlapping queries on a client). */
  private sending: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly url: string,
    schema = 'public',
  ) {
    this.channel = `agentry_sessions_${schema}`.slice(0, 63);
  }

  async start(): Promise<void> {
    const connect = async (): Promise<void> => {
      const client = new pg.Client({ connectionString: this.url });
      client.on('notification', (msg) => {
        if (msg.channel !== this.channel || !msg.payload) return;
        try {
          const { o, n } = JSON.parse(msg.payload) as { o: string; n: SessionNotice };
          if (o !== this.origin) this.local.deliver(n);
        } catch {
          /* not ours */
        }
      });
      client.on('error', () => {
        this.client = undefined;
        void client.end().catch(() => undefined);
        if (!this.closed) this.retry = setTimeout(() => void connect().catch(() => undefined), 1000);
      });
      await client.connect();
      await client.query(`LISTEN "${this.channel}"`);
      if (this.closed) {
        await client.end();
        return;
      }
      this.client = client;
      // Whatever was missed while disconnected: every open stream reads its session again.
      for (const sessionId of this.known) this.local.deliver({ kind: 'appended', sessionId, seq: 0 });
    };
    await connect();
  }

  publish(n: SessionNotice): void {
    this.local.deliver(n);
    if (n.kind === 'appended') {
      if (this.known.size >= 10_000) this.known.clear();
      this.known.add(n.sessionId);
    }
    // The records stay in this process: the others read them from the store.
    const wire = n.kind === 'appended' ? { kind: n.kind, sessionId: n.sessionId, seq: n.seq, ...(n.status === undefined ? {} : { status: n.status }) } : n;
    const payload = JSON.stringify({ o: this.origin, n: wire });
    if (Buffer.byteLength(payload) > MAX_PAYLOAD || !this.client) return;
    const client = this.client;
    this.sending = this.sending.then(() => client.query('SELECT pg_notify($1, $2)', [this.channel, payload])).catch(() => undefined);
  }

  subscribe(listener: (n: SessionNotice) => void): () => void {
    return this.local.subscribe(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    await this.local.close();
    await this.client?.end().catch(() => undefined);
  }
}
