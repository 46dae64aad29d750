/**
 * Copies a seeded SQLite bench store into a fresh PostgreSQL schema, row for row, so the
 * PostgreSQL leg reads the same 100k packages without publishing them all again over HTTP
 * (hours on a busy machine). The schema is created and migrated by the server's own code
 * (dist/), then each table's rows go in 1,000 at a time; PostgreSQL fills search_vector itself.
 *
 *   node bench/copy-to-postgres.mjs <agentry.db> <postgres url> <schema> [<dist folder URL>]
 */
import Database from 'better-sqlite3';
import pg from 'pg';

const TABLES = ['accounts', 'org_members', 'scopes', 'tokens', 'packages', 'versions', 'dist_tags', 'package_downloads'];

/** `dist`: the build whose migrations create the schema (the one that will serve it). */
export const copySqliteToPostgres = async (file, url, schema, dist = new URL('../dist/', import.meta.url).href) => {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`bad schema name ${schema}`);
  const { openPostgresStorage } = await import(new URL('storage/postgres/open-postgres.js', dist).href);
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
  const storage = await openPostgresStorage({ url, schema });
  await storage.close();
  const lite = new Database(file, { readonly: true });
  const client = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
  await client.connect();
  try {
    for (const table of TABLES) {
      const liteCols = new Set(
        lite
          .prepare(`SELECT name FROM pragma_table_info(?)`)
          .all(table)
          .map((r) => r.name),
      );
      const pgCols = (await client.query(`SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND is_generated = 'NEVER'`, [schema, table])).rows.map(
        (r) => r.column_name,
      );
      const cols = pgCols.filter((c) => liteCols.has(c));
      const list = cols.map((c) => `"${c}"`).join(', ');
      const rows = lite.prepare(`SELECT ${list} FROM ${table}`).all();
      for (let i = 0; i < rows.length; i += 1000) {
        await client.query(`INSERT INTO ${table} (${list}) SELECT ${list} FROM json_populate_recordset(null::${table}, $1)`, [JSON.stringify(rows.slice(i, i + 1000))]);
      }
      if (cols.includes('id')) await client.query(`SELECT setval(pg_get_serial_sequence('${table}', 'id'), coalesce(max(id), 1)) FROM ${table}`);
      console.error(`copied ${rows.length} rows of ${table}`);
    }
    // VACUUM as well: rows inserted in bulk leave the visibility map empty, so index-only scans
    // visit the heap until a VACUUM marks the pages all-visible (a served store gets that from
    // autovacuum in time; a freshly copied one must not be timed before it).
    await client.query('VACUUM ANALYZE');
  } finally {
    await client.end();
    lite.close();
  }
};

if (import.meta.url === `file://${process.argv[1]}`) await copySqliteToPostgres(process.argv[2], process.argv[3], process.argv[4], process.argv[5]);
