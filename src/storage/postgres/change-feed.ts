import pg from 'pg';
import { CHANGE_CHANNEL, type ChangeFeed } from '../sql/change-feed.js';

/**
 * Changes from every server process on one PostgreSQL database: writers `pg_notify(channel, key)`
 * inside their transaction (delivered on commit), and this client LISTENs (package changes on
 * `CHANGE_CHANNEL`; one feed per channel). After a lost connection it reconnects and reports `undefined` (anything may
 * have changed meanwhile).
 */
export class PostgresChangeFeed implements ChangeFeed {
  private client: pg.Client | undefined;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly url: string,
    /** The channel heard: package changes by default (`WEBHOOK_OWNERS_CHANNEL` for webhook owners). */
    private readonly channel: string = CHANGE_CHANNEL,
  ) {}

  async listen(listener: (key: string | undefined) => void): Promise<void> {
    const connect = async (): Promise<void> => {
      const client = new pg.Client({ connectionString: this.url });
      client.on('notification', (msg) => {
        if (msg.channel === this.channel && msg.payload) listener(msg.payload);
      });
      client.on('error', () => {
        listener(undefined);
        void client.end().catch(() => undefined);
        if (!this.closed) this.retry = setTimeout(() => void connect().catch(() => undefined), 1000);
      });
      await client.connect();
      await client.query(`LISTEN ${this.channel}`);
      if (this.closed) {
        await client.end();
        return;
      }
      this.client = client;
      listener(undefined);
    };
    await connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    await this.client?.end().catch(() => undefined);
  }
}
