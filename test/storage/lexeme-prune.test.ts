import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PeriodicJob } from '../../src/core/jobs/periodic-job.js';
import { LEXEME_PRUNE_PERIOD_MS, type LexemeUpkeep } from '../../src/core/search/lexeme-prune.js';
import type { Storage } from '../../src/core/storage.js';
import { openStorage } from '../../src/storage/open-storage.js';
import { PrefixRows, postgresTextSearch } from '../../src/storage/postgres/text-search.js';
import { PRUNE_BATCH_LEXEMES, pruneLexemes } from '../../src/storage/postgres/lexeme-prune.js';
import { LEXEME_LOCK_CLASS } from '../../src/storage/sql/migrations/0055-package-lexemes-prune.js';
import { SqlPackageRepo } from '../../src/storage/sql/package-repo.js';
import type { Database } from '../../src/storage/sql/schema.js';
import { packageRow } from '../helpers/package-rows.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/**
 * The prune of `package_lexemes` (PostgreSQL, 0055): what no package holds any more and the
 * duplicates go, what a package holds stays, and a publish in flight while a batch runs never
 * loses a lexeme it found listed (the batch waits for it).
 */
describe.runIf(process.env.AGENTRY_TEST_DATABASE_URL)('pruning the lexemes of package search (PostgreSQL)', () => {
  let server: TestServer;
  let storage: Storage;
  let lexemes: LexemeUpkeep;
  let pool: pg.Pool;
  let ownerId: number;
  // Made in beforeAll, not while the file is collected: on the SQLite leg the suite is skipped and no hook runs.
  let dataDir: string | undefined;
  const at = new Date().toISOString();

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'agentry-lexeme-prune-'));
    server = await startTestServer({ store: 'postgres' });
    const opened = await openStorage({ dataDir, databaseUrl: process.env.AGENTRY_TEST_DATABASE_URL, databaseSchema: server.schema });
    storage = opened.storage;
    lexemes = opened.lexemes!;
    pool = new pg.Pool({ connectionString: process.env.AGENTRY_TEST_DATABASE_URL, options: `-c search_path=${server.schema}`, max: 3 });
    await storage.transaction(async (tx) => {
      const owner = await tx.accounts.insert({ name: 'pruner', kind: 'user' }, at);
      ownerId = owner.id;
      await tx.scopes.insert('pruner', owner.id, at);
    });
  }, 60_000);
  afterAll(async () => {
    await pool?.end();
    await storage?.close();
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const add = async (name: string, description: string): Promise<number> =>
    storage.transaction(async (tx) => {
      const { pkg } = await tx.packages.insert(packageRow({ kind: 'agent', scope: 'pruner', name, key: `pruner/${name}`, description, ownerAccountId: ownerId, createdAt: at, updatedAt: at }));
      return pkg.id;
    });
  const listed = async (like: string): Promise<string[]> =>
    (await pool.query<{ lexeme: string }>(`SELECT lexeme FROM package_lexemes WHERE lexeme LIKE $1 ORDER BY lexeme`, [like])).rows.map((r) => r.lexeme);
  const searched = async (q: string): Promise<string[]> => {
    const r = await fetch(`${server.url}/api/v1/search?q=${encodeURIComponent(q)}&limit=100`);
    expect(r.status).toBe(200);
    return ((await r.json()) as { agents: Array<{ name: string }> }).agents.map((a) => a.name).sort();
  };

  it('deletes the lexemes no package holds and the duplicates, and keeps every lexeme a package holds', async () => {
    // A lexeme with a quote (`example.org/o'k`): quoted when probed, it is found held.
    const kept = await add('kept', "wombatine marsupial see https://example.org/o'k\\x");
    const rewritten = await add('rewritten', 'numbatish marsupial');
    const gone = await add('gone', "dunnartly marsupial see https://example.com/it's/a\\b");
    await storage.packages.update(rewritten, { description: 'numbatless marsupial' });
    await pool.query('DELETE FROM packages WHERE id = $1', [gone]);
    // Two publishes adding the same new lexeme at once may both add it.
    await pool.query(`INSERT INTO package_lexemes (lexeme) VALUES ('wombatine'), ('wombatine'), ('numbatless'), ('back\\sla''sh')`);
    // More than one batch of lexemes, most of them stale.
    await pool.query(`INSERT INTO package_lexemes (lexeme) SELECT 'zstale' || i FROM generate_series(1, ${PRUNE_BATCH_LEXEMES + 10}) AS i`);
    expect(await listed('wombatine')).toEqual(['wombatine', 'wombatine', 'wombatine']);
    expect(await listed('numbat%')).toEqual(['numbatish', 'numbatless', 'numbatless']);
    expect(await listed('dunnart%')).toEqual(['dunnartly']);

    const report = await lexemes.prune();

    expect(await listed('wombatine')).toEqual(['wombatine']);
    expect(await listed('numbat%')).toEqual(['numbatless']);
    expect(await listed('dunnart%')).toEqual([]);
    expect(await listed('zstale%')).toEqual([]);
    expect(await listed('example.com%')).toEqual([]);
    expect(await listed('example.org%')).toEqual(['example.org', "example.org/o'k"]);
    expect(await listed('back%')).toEqual([]);
    expect(report).toMatchObject({ duplicates: 3, skipped: 0 });
    expect(report.stale).toBeGreaterThanOrEqual(PRUNE_BATCH_LEXEMES + 10 + 2);
    // Every lexeme a package holds is listed, once.
    const unlisted = await pool.query(`SELECT unnest(tsvector_to_array(search_vector)) FROM packages EXCEPT SELECT lexeme FROM package_lexemes`);
    expect(unlisted.rows).toEqual([]);
    const twice = await pool.query(`SELECT lexeme FROM package_lexemes GROUP BY lexeme HAVING count(*) > 1`);
    expect(twice.rows).toEqual([]);
    expect(await searched('wombat marsup')).toEqual(['kept']);
    expect(kept).toBeGreaterThan(0);
  });

  it('is run by one process of several each period (a lease in periodic_jobs)', async () => {
    let now = Date.parse('2030-01-01T00:00:00.000Z');
    const runs: string[] = [];
    const job = (name: string) => {
      const j: PeriodicJob = new PeriodicJob({
        leases: lexemes.leases,
        clock: { now: () => new Date(now) },
        id: lexemes.jobId,
        workerPrefix: name,
        periodMs: LEXEME_PRUNE_PERIOD_MS,
        checkMs: 3_600_000,
        run: async () => {
          runs.push(name);
        },
      });
      return j;
    };
    const [a, b] = [job('a'), job('b')];
    a.start();
    b.start();
    const settle = () => new Promise((r) => setTimeout(r, 200));
    try {
      a.wake();
      b.wake();
      await vi.waitFor(() => expect(runs).toHaveLength(1));
      await settle();
      expect(runs).toHaveLength(1);
      // Within the period nobody runs it again.
      now += LEXEME_PRUNE_PERIOD_MS - 1000;
      a.wake();
      b.wake();
      await settle();
      expect(runs).toHaveLength(1);
      now += 2000;
      b.wake();
      await vi.waitFor(() => expect(runs).toEqual([runs[0], 'b']));
      a.wake();
      await settle();
      expect(runs).toEqual([runs[0], 'b']);
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it('never deletes a lexeme a publish in flight found listed: the batch waits for it to commit', async () => {
    // `quokkaesque` listed, held by no package.
    const old = await add('old', 'quokkaesque marsupial');
    await storage.packages.update(old, { description: 'marsupial' });
    expect(await listed('quokka%')).toEqual(['quokkaesque']);

    // A publish whose trigger ran (and found `quokkaesque` listed), not committed yet: it commits when `commit` is called.
    const publisherPool = new pg.Pool({ connectionString: process.env.AGENTRY_TEST_DATABASE_URL, options: `-c search_path=${server.schema}`, max: 1 });
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: publisherPool }) });
    let commit = (): void => undefined;
    let triggered = (): void => undefined;
    const ran = new Promise<void>((r) => (triggered = r));
    const published = db.transaction().execute(async (trx) => {
      const repo = new SqlPackageRepo(trx, 'postgres', postgresTextSearch(new PrefixRows(async () => undefined)));
      await repo.insert(
        packageRow({ kind: 'agent', scope: 'pruner', name: 'fresh', key: 'pruner/fresh', description: 'quokkaesque marsupial', ownerAccountId: ownerId, createdAt: at, updatedAt: at }),
      );
      await new Promise<void>((r) => {
        commit = r;
        triggered();
      });
    });
    const pruner = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: process.env.AGENTRY_TEST_DATABASE_URL, options: `-c search_path=${server.schema}`, max: 1 }) }),
    });
    let prune: Promise<unknown> | undefined;
    try {
      await ran;
      expect(await listed('quokka%')).toEqual(['quokkaesque']);
      let settled = false;
      // A lock timeout longer than the test: the batch goes on once the publish commits (by default it gives up after 250 ms).
      prune = pruneLexemes(pruner, undefined, 60_000).finally(() => {
        settled = true;
      });
      // The batch waits on the lexeme lock the publish holds.
      for (let i = 0; i < 400 && !(await waitingOnAdvisoryLock(pool)); i++) await new Promise((r) => setTimeout(r, 25));
      expect(await waitingOnAdvisoryLock(pool)).toBe(true);
      expect(settled).toBe(false);
      expect(await listed('quokka%')).toEqual(['quokkaesque']);
    } finally {
      commit();
      await published;
      await db.destroy();
    }
    try {
      expect(await prune).toMatchObject({ skipped: 0 });
    } finally {
      await pruner.destroy();
    }
    expect(await listed('quokka%')).toEqual(['quokkaesque']);
    // Two words, no planner statistics yet: the search turns each into the exact lexemes it starts.
    expect(await searched('quokka marsup')).toEqual(['fresh']);
  });
});

/** Whether a session waits for this schema's lexeme lock (the prune batch, on the publish's shared hold). */
const waitingOnAdvisoryLock = async (pool: pg.Pool): Promise<boolean> =>
  (
    await pool.query(
      `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND classid = $1::bigint::oid AND objid = 'packages'::regclass AND objsubid = 1`,
      [LEXEME_LOCK_CLASS],
    )
  ).rowCount! > 0;
