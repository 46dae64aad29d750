import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PackageQuery } from '../../src/core/packages/package-repo.js';
import type { Storage } from '../../src/core/storage.js';
import { openStorage } from '../../src/storage/open-storage.js';
import { EXACT_WORD_ROWS, exactWorthIt, MAX_WORD_LEXEMES, postgresTextSearch, PrefixRows, type LexemeStats } from '../../src/storage/postgres/text-search.js';
import { SqlPackageRepo } from '../../src/storage/sql/package-repo.js';
import type { Database } from '../../src/storage/sql/schema.js';
import { longerTermsSql, SQLITE_TERMS_TABLE_SQL, sqliteTextSearch, wordsWithoutLongerTerms } from '../../src/storage/sqlite/text-search.js';
import { afterPrefix, type TextSearch } from '../../src/storage/sql/dialect.js';
import { dropTestSchema } from '../helpers/postgres.js';
import { testStores } from '../helpers/server.js';
import { packageRow } from '../helpers/package-rows.js';

describe('turning the words of a query into exact lexemes (PostgreSQL)', () => {
  it('is worth it for two or more words that each match many packages, or without estimates', () => {
    const rows = (w: string) => ({ many: EXACT_WORD_ROWS + 1, more: 50_000, few: EXACT_WORD_ROWS })[w];
    expect(exactWorthIt(['many'], rows)).toBe(false);
    expect(exactWorthIt(['many', 'few'], rows)).toBe(false);
    expect(exactWorthIt(['few', 'few'], rows)).toBe(false);
    expect(exactWorthIt(['many', 'few', 'more'], rows)).toBe(true);
    expect(exactWorthIt(['few', 'unknown'], rows)).toBe(true);
    expect(exactWorthIt(['unknown'], rows)).toBe(false);
  });

  it('reads the lexemes between a word and the first string after all that start with it', () => {
    expect(afterPrefix('abc')).toBe('abd');
    expect(afterPrefix('z')).toBe('{');
    expect(afterPrefix('straß')).toBe('straà');
    expect(afterPrefix('a😀')).toBe('a😁');
  });
});

const READER = { all: false, internal: false, memberOwnerIds: [] };
/** More lexemes starting `wid` than a word is turned into: it stays a prefix. */
const WIDE = MAX_WORD_LEXEMES + 6;

/**
 * A search finds the same packages, in the same order, whether its words reach the index as
 * prefixes or as the exact lexemes they start (PostgreSQL, from `package_lexemes`, kept by
 * triggers on every insert and update of the searched columns); the same packages on both stores.
 */
describe.each(testStores)('searching by exact lexemes (%s)', (store) => {
  let storage: Storage;
  const dataDir = mkdtempSync(join(tmpdir(), 'agentry-lexemes-'));
  const schema = store === 'postgres' ? `t_lexemes_${randomBytes(4).toString('hex')}` : undefined;
  const ids = new Map<string, number>();
  const descriptions: Record<string, string> = {
    a1: 'alpha beta gamma',
    a2: 'alphabet beta',
    a3: 'alphanumeric beta gamma delta',
    a4: 'alpine gamma',
    a5: "see https://example.com/it's/a beta",
    a6: 'example alpha gamma gamma gamma',
    a7: 'delta epsilon',
  };

  beforeAll(async () => {
    ({ storage } = await openStorage({ dataDir, databaseUrl: schema ? process.env.AGENTRY_TEST_DATABASE_URL : undefined, databaseSchema: schema }));
    const at = new Date().toISOString();
    await storage.transaction(async (tx) => {
      const owner = await tx.accounts.insert({ name: 'lexer', kind: 'user' }, at);
      await tx.scopes.insert('lexer', owner.id, at);
      const add = async (name: string, description: string) => {
        const { pkg } = await tx.packages.insert(packageRow({ kind: 'agent', scope: 'lexer', name, key: `lexer/${name}`, description, ownerAccountId: owner.id, createdAt: at, updatedAt: at }));
        ids.set(name, pkg.id);
      };
      for (const [name, description] of Object.entries(descriptions)) await add(name, description);
      for (let i = 0; i < WIDE; i++) await add(`w${i}`, `wid${i}x beta${i % 3 === 0 ? ' gamma' : ''}`);
    });
  }, 60_000);
  afterAll(async () => {
    await storage?.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) await dropTestSchema(schema);
  });

  const search = (text: string): PackageQuery => ({ text, sort: 'relevance', offset: 0, limit: 100, read: READER });
  const names = async (text: string) => {
    const page = await storage.packages.query(search(text));
    return { names: page.rows.map((r) => r.name).sort(), total: page.total };
  };
  // `example` starts `example.com/it's/a` on PostgreSQL: a lexeme quoted when given to the index.
  const QUERIES = ['alph beta', 'alpha gamma', 'alp gam delt', 'example beta', 'example gamma', 'wid beta', 'wid3 gamma', 'wid alpha', 'alph nowhere', 'beta alphanum'];

  it('finds the packages holding every word as a prefix', async () => {
    expect(await names('alph beta')).toEqual({ names: ['a1', 'a2', 'a3'], total: 3 });
    expect(await names('alp gam')).toEqual({ names: ['a1', 'a3', 'a4', 'a6'], total: 4 });
    expect(await names('example beta')).toEqual({ names: ['a5'], total: 1 });
    const wide = Array.from({ length: WIDE }, (_, i) => `w${i}`);
    expect(await names('wid beta')).toEqual({ names: wide.sort(), total: WIDE });
    expect(await names('wid3 gamma')).toEqual({ names: ['w3', 'w30', 'w33', 'w36', 'w39'], total: 5 });
    expect(await names('alph nowhere')).toEqual({ names: [], total: 0 });
  });

  it.runIf(store === 'postgres')('finds the same packages in the same order as by prefixes, in and out of a transaction', async () => {
    const pool = new pg.Pool({ connectionString: process.env.AGENTRY_TEST_DATABASE_URL, options: `-c search_path=${schema}`, max: 1 });
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    const repoWith = async (stats: LexemeStats | undefined) => {
      const rows = new PrefixRows(async () => stats);
      rows.of('x');
      await new Promise((r) => setTimeout(r, 0));
      return new SqlPackageRepo(db, 'postgres', postgresTextSearch(rows));
    };
    // No statistics: every query of two words or more is turned into exact lexemes.
    const exact = await repoWith(undefined);
    // Every word rare: prefixes, as before `package_lexemes`.
    const prefixes = await repoWith({ lexemes: ['zzzz'], shares: [0.0001], rows: 1000 });
    try {
      for (const text of QUERIES) {
        const [a, b] = [await exact.query(search(text)), await prefixes.query(search(text))];
        expect({ text, ids: a.rows.map((r) => r.id), total: a.total }).toEqual({ text, ids: b.rows.map((r) => r.id), total: b.total });
      }
      // Through the store's own connections (no statistics yet: exact lexemes as well).
      for (const text of QUERIES) expect((await storage.packages.query(search(text))).rows.map((r) => r.id)).toEqual((await prefixes.query(search(text))).rows.map((r) => r.id));
      // A transaction's search sees the lexemes of its own writes; so do later ones once it commits.
      await db.transaction().execute(async (trx) => {
        const repo = new SqlPackageRepo(trx, 'postgres', postgresTextSearch(new PrefixRows(async () => undefined)));
        await repo.update(ids.get('a7')!, { description: 'delta epsilon zygomorphic' });
        expect((await repo.query(search('zygo delt'))).rows.map((r) => r.name)).toEqual(['a7']);
      });
      expect((await exact.query(search('zygo epsil'))).rows.map((r) => r.name)).toEqual(['a7']);
      const listed = await pool.query<{ lexeme: string }>(`SELECT lexeme FROM package_lexemes WHERE lexeme LIKE 'zygo%' OR lexeme LIKE 'example%' ORDER BY lexeme`);
      expect(listed.rows.map((r) => r.lexeme)).toEqual(['example', 'example.com', "example.com/it's/a", 'zygomorphic']);
    } finally {
      await db.destroy();
    }
  });

  it.runIf(store === 'sqlite')('finds the same packages in the same order as by prefixes, in and out of a transaction', async () => {
    const connection = new SQLite(join(dataDir, 'agentry.db'));
    connection.exec(SQLITE_TERMS_TABLE_SQL);
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: connection }) });
    // Every word a prefix (as before): the lookup answers that each starts a longer term.
    const everyWordPrefix: TextSearch = { match: (text) => sqliteTextSearch.match(text, async () => [Array.from({ length: 12 }, () => 1)]) };
    const exact = new SqlPackageRepo(db, 'sqlite', sqliteTextSearch);
    const prefixes = new SqlPackageRepo(db, 'sqlite', everyWordPrefix);
    const run = async (_name: string, text: string, params: readonly unknown[]) =>
      connection
        .prepare(text)
        .raw(true)
        .all(...params) as unknown[][];
    try {
      // `gamma`, `delta`, `beta` and `nowhere` start no longer term; `alph` and `wid` do; `straße` is not looked up.
      expect([...(await wordsWithoutLongerTerms(['gamma', 'alph', 'delta', 'wid', 'beta', 'nowhere', 'straße'], run))].sort()).toEqual(['beta', 'delta', 'gamma', 'nowhere']);
      expect(longerTermsSql(2)).toContain('AS w1');
      for (const text of [...QUERIES, 'gamma', 'delta gamma', 'beta gamma alpha']) {
        const [a, b] = [await exact.query(search(text)), await prefixes.query(search(text))];
        expect({ text, ids: a.rows.map((r) => r.id), total: a.total }).toEqual({ text, ids: b.rows.map((r) => r.id), total: b.total });
        expect((await storage.packages.query(search(text))).rows.map((r) => r.id)).toEqual(b.rows.map((r) => r.id));
      }
      // A transaction's search sees the terms of its own writes: `delta` starts one now (a query of
      // two words: one word alone is not looked up).
      await db
        .transaction()
        .execute(async (trx) => {
          const repo = new SqlPackageRepo(trx, 'sqlite', sqliteTextSearch);
          await repo.update(ids.get('a1')!, { description: 'alpha deltoid gamma deltaic' });
          expect((await repo.query(search('delta gamma'))).rows.map((r) => r.name).sort()).toEqual(['a1', 'a3']);
          throw new Error('roll back');
        })
        .catch((e: unknown) => {
          if (!(e instanceof Error) || e.message !== 'roll back') throw e;
        });
      expect((await exact.query(search('delta gamma'))).rows.map((r) => r.name).sort()).toEqual(['a3']);
    } finally {
      await db.destroy();
    }
  });
});
