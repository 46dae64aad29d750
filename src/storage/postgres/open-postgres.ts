import { Kysely, sql } from 'kysely';
import pg from 'pg';
import { migrateToLatest } from '../sql/migrate.js';
import type { Database } from '../sql/schema.js';
import { RefuseNulPlugin } from '../sql/refuse-nul.js';
import { SqlStorage } from '../sql/sql-storage.js';
import { PostgresChangeFeed } from './change-feed.js';
import { WEBHOOK_OWNERS_CHANNEL } from '../sql/webhook-store.js';
import { LEXEME_STATS_SQL, postgresTextSearch, PrefixRows, type LexemeStats } from './text-search.js';
import { SchemaScopedPostgresDialect } from './schema-scoped-dialect.js';
import type { RowsReader } from '../sql/dialect.js';

export interface PostgresOptions {
  url: string;
  /** A schema to keep all tables in (created if missing); default: the connection's search_path. */
  schema?: string;
  poolSize?: number;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** The scale-out store: PostgreSQL through a connection pool, migrated at start-up. */
export const openPostgresStorage = async (opts: PostgresOptions): Promise<SqlStorage> => {
  if (opts.schema !== undefined && !SCHEMA_NAME.test(opts.schema)) throw new Error(`invalid PostgreSQL schema name '${opts.schema}'`);
  if (opts.schema) {
    const admin = new pg.Client({ connectionString: opts.url });
    await admin.connect();
    try {
      await admin.query(`CREATE SCHEMA IF NOT EXISTS "${opts.schema}"`);
    } finally {
      await admin.end();
    }
  }
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.poolSize ?? 10,
    options: opts.schema ? `-c search_path=${opts.schema}` : undefined,
  });
  const db = new Kysely<Database>({ dialect: new SchemaScopedPostgresDialect({ pool }, opts.schema ?? 'public'), plugins: [new RefuseNulPlugin()] });
  try {
    await sql`SELECT 1`.execute(db);
    await migrateToLatest(db as Kysely<unknown>, 'postgres', opts.schema ?? 'public');
  } catch (e) {
    await db.destroy();
    throw e;
  }
  const readRows: RowsReader = async (name, text, params) => (await pool.query<unknown[]>({ name, text, values: [...params], rowMode: 'array' })).rows;
  const prefixRows = new PrefixRows(async () => (await pool.query<LexemeStats>(LEXEME_STATS_SQL)).rows[0] ?? undefined);
  const storage = new SqlStorage(db, 'postgres', postgresTextSearch(prefixRows), new PostgresChangeFeed(opts.url), opts.schema ?? 'public', undefined, undefined, readRows);
  storage.webhooks.useChangeFeed(new PostgresChangeFeed(opts.url, WEBHOOK_OWNERS_CHANNEL));
  return storage;
};
