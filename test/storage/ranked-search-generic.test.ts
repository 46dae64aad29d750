import { randomBytes } from 'node:crypto';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PackageQuery } from '../../src/core/packages/package-repo.js';
import { openStorage } from '../../src/storage/open-storage.js';
import { GENERIC_PLAN_ROWS, postgresTextSearch, PrefixRows } from '../../src/storage/postgres/text-search.js';
import type { RowsReader } from '../../src/storage/sql/dialect.js';
import { SqlPackageRepo } from '../../src/storage/sql/package-repo.js';
import type { Database } from '../../src/storage/sql/schema.js';
import { dropTestSchema } from '../helpers/postgres.js';
import { packageRow } from '../helpers/package-rows.js';

const url = process.env.AGENTRY_TEST_DATABASE_URL;
const PACKAGES = 300;
const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'omega'];

/**
 * On PostgreSQL a relevance search of a text estimated to match few packages runs as a statement
 * prepared once per connection and planned once for every text (TextMatch.generic). It finds the
 * same page, in the same order, with the same total, as the statement planned for each text.
 */
describe.runIf(url)('a ranked search by a statement planned once (PostgreSQL)', () => {
  const schema = `t_generic_${randomBytes(4).toString('hex')}`;
  let pool: pg.Pool;
  let db: Kysely<Database>;
  const prepared: string[] = [];

  beforeAll(async () => {
    const { storage } = await openStorage({ dataDir: '', databaseUrl: url, databaseSchema: schema });
    const at = new Date().toISOString();
    await storage.transaction(async (tx) => {
      const owner = await tx.accounts.insert({ name: 'planner', kind: 'user' }, at);
      const other = await tx.accounts.insert({ name: 'hidden', kind: 'user' }, at);
      await tx.scopes.insert('planner', owner.id, at);
      await tx.scopes.insert('hidden', other.id, at);
      for (let i = 0; i < PACKAGES; i++) {
        const hidden = i % 37 === 0;
        // Words repeated and weighted differently, so that ranks differ and some tie.
        const words = WORDS.filter((_, k) => (i >> k) % 2 === 1);
        await tx.packages.insert(
          packageRow({
            kind: i % 3 === 0 ? 'skill' : 'agent',
            scope: hidden ? 'hidden' : 'planner',
            name: `${WORDS[i % WORDS.length]}-${i}`,
            key: `${hidden ? 'hidden' : 'planner'}/p${i}`,
            description: `${words.join(' ')} ${i % 4 === 0 ? words.join(' ') : ''} filler`,
            readme: i % 5 === 0 ? `# ${words.slice(0, 2).join(' ')}` : null,
            ownerAccountId: hidden ? other.id : owner.id,
            visibility: hidden ? 'private' : 'public',
            createdAt: at,
            updatedAt: at,
          }),
        );
      }
    });
    await storage.close();
    pool = new pg.Pool({ connectionString: url, options: `-c search_path=${schema}`, max: 1 });
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  }, 60_000);
  afterAll(async () => {
    await db?.destroy();
    await dropTestSchema(schema);
  });

  /** Statistics that estimate every word of the test rare: each query is given its generic form. */
  const rare = () => {
    const rows = new PrefixRows(async () => ({ lexemes: ['zzz'], shares: [0.0001], rows: 100_000 }));
    rows.of('alpha');
    return rows;
  };
  const readRows: RowsReader = async (name, text, params) => {
    prepared.push(name);
    return (await pool.query<unknown[]>({ name, text, values: [...params], rowMode: 'array' })).rows;
  };

  it('finds the same page, order and total as the statement planned for each search', async () => {
    const rows = rare();
    await new Promise((r) => setTimeout(r, 0));
    expect(rows.ofAll(['alpha', 'beta'])).toBeLessThanOrEqual(GENERIC_PLAN_ROWS);
    const generic = new SqlPackageRepo(db, 'postgres', postgresTextSearch(rows), undefined, readRows);
    const planned = new SqlPackageRepo(db, 'postgres', postgresTextSearch());
    const readers: PackageQuery['read'][] = [{ all: false, internal: false, memberOwnerIds: [] }, { all: false, internal: true, memberOwnerIds: [] }, { all: true }];
    const page = (p: Awaited<ReturnType<SqlPackageRepo['query']>>) => ({ ids: p.rows.map((r) => r.id), total: p.total, estimated: p.estimated });
    let compared = 0;
    for (const text of ['alpha', 'alp', 'beta gamma', 'gamma alpha delta', 'omega beta', 'delt', 'alpha alpha', 'nowhere', 'filler omega']) {
      for (const read of readers) {
        for (const [offset, limit] of [
          [0, 20],
          [5, 7],
          [40, 100],
        ] as const) {
          for (const kind of [undefined, 'agent'] as const) {
            const q: PackageQuery = { text, kind, sort: 'relevance', offset, limit, read };
            prepared.length = 0;
            const a = page(await generic.query(q));
            expect(prepared.some((n) => n.startsWith('packages.ranked.'))).toBe(true);
            expect(a).toEqual(page(await planned.query(q)));
            compared += a.ids.length;
          }
        }
      }
    }
    expect(compared).toBeGreaterThan(1000);
  });
});
