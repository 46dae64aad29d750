import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Storage } from '../../src/core/storage.js';
import { openStorage } from '../../src/storage/open-storage.js';
import { COMMON_WORD_ROWS, indexedWords, LEXEME_STATS_SQL, postgresTextSearch, PrefixRows, type LexemeStats } from '../../src/storage/postgres/text-search.js';
import { SqlPackageRepo } from '../../src/storage/sql/package-repo.js';
import type { Database } from '../../src/storage/sql/schema.js';
import { dropTestSchema } from '../helpers/postgres.js';
import { testStores } from '../helpers/server.js';
import { packageRow } from '../helpers/package-rows.js';

const STATS: LexemeStats = { lexemes: ['common', 'commonly', 'rare', 'zeta'], shares: [0.6, 0.1, 0.02, 0.01, 0.01, 0.6, 0], rows: 100_000 };

describe('the words of a query given to the index (PostgreSQL)', () => {
  const rows = (w: string) => ({ common: 70_000, plenty: COMMON_WORD_ROWS + 1, rare: 200, other: COMMON_WORD_ROWS })[w];

  it('are all of them for one word, when a word has no estimate, or when every word is common', () => {
    expect(indexedWords(['common'], rows)).toEqual(['common']);
    expect(indexedWords([], rows)).toEqual([]);
    expect(indexedWords(['common', 'unknown'], rows)).toEqual(['common', 'unknown']);
    expect(indexedWords(['common', 'plenty'], rows)).toEqual(['common', 'plenty']);
    expect(indexedWords(['rare', 'other'], rows)).toEqual(['rare', 'other']);
  });

  it('are the uncommon ones when some are common', () => {
    expect(indexedWords(['common', 'rare'], rows)).toEqual(['rare']);
    expect(indexedWords(['rare', 'plenty', 'other', 'common'], rows)).toEqual(['rare', 'other']);
  });
});

describe('prefix rows from the planner statistics', () => {
  const prefixRows = (read: () => Promise<LexemeStats | undefined>, clock = { t: 0 }) => ({ s: new PrefixRows(read, () => clock.t), clock });
  const settle = () => new Promise((r) => setTimeout(r, 0));

  it('has no estimate until the statistics are read, then sums the shares of the lexemes a prefix starts', async () => {
    let reads = 0;
    const { s } = prefixRows(async () => (reads++, STATS));
    expect(s.of('common')).toBeUndefined();
    await settle();
    expect(reads).toBe(1);
    expect(s.of('common')).toBeCloseTo(70_000);
    expect(s.of('comm')).toBeCloseTo(70_000);
    expect(s.of('commonly')).toBeCloseTo(10_000);
    expect(s.of('rare')).toBeCloseTo(2_000);
    // Not among the common lexemes: rarer than the rarest listed one (the trailing figures are not lexemes').
    expect(s.of('kappa')).toBeCloseTo(1_000);
    expect(s.of('')).toBeCloseTo(73_000);
    expect(reads).toBe(1);
  });

  it('reads the statistics again only after a while, and keeps none that are absent or failed', async () => {
    let next: () => Promise<LexemeStats | undefined> = async () => ({ lexemes: null, shares: null, rows: 100 });
    let reads = 0;
    const { s, clock } = prefixRows(() => (reads++, next()));
    expect(s.of('rare')).toBeUndefined();
    await settle();
    expect(s.of('rare')).toBeUndefined();
    next = async () => STATS;
    clock.t += 60_000;
    expect(s.of('rare')).toBeUndefined();
    await settle();
    expect(reads).toBe(1);
    clock.t += 5 * 60_000;
    s.of('rare');
    await settle();
    expect(reads).toBe(2);
    expect(s.of('rare')).toBeCloseTo(2_000);
    next = () => Promise.reject(new Error('no statistics'));
    clock.t += 5 * 60_000;
    s.of('rare');
    await settle();
    expect(reads).toBe(3);
    // A failed read keeps what was known.
    expect(s.of('rare')).toBeCloseTo(2_000);
    // A table never analyzed (reltuples -1) has no estimate.
    next = async () => ({ ...STATS, rows: -1 });
    clock.t += 5 * 60_000;
    s.of('rare');
    await settle();
    expect(s.of('rare')).toBeUndefined();
  });
});

/**
 * A query of several words finds the same packages whichever of its words the index is given (on
 * PostgreSQL the uncommon ones, the whole query checked on each row they yield).
 */
describe.each(testStores)('a search of a rare and a common word (%s)', (store) => {
  let storage: Storage;
  const dataDir = mkdtempSync(join(tmpdir(), 'agentry-rarest-'));
  const schema = store === 'postgres' ? `t_rarest_${randomBytes(4).toString('hex')}` : undefined;
  const COMMON = 400;

  beforeAll(async () => {
    ({ storage } = await openStorage({ dataDir, databaseUrl: schema ? process.env.AGENTRY_TEST_DATABASE_URL : undefined, databaseSchema: schema }));
    const at = new Date().toISOString();
    await storage.transaction(async (tx) => {
      const owner = await tx.accounts.insert({ name: 'rarity', kind: 'user' }, at);
      const other = await tx.accounts.insert({ name: 'hidden', kind: 'user' }, at);
      await tx.scopes.insert('rarity', owner.id, at);
      await tx.scopes.insert('hidden', other.id, at);
      const words = (i: number) => ['plenty', i % 50 === 0 ? 'scarcity' : i % 50 === 1 ? 'scarcely' : 'filler', i % 2 === 0 ? 'evenish' : 'oddish'].join(' ');
      for (let i = 0; i < COMMON; i++) {
        const hidden = i % 100 === 0;
        await tx.packages.insert(
          packageRow({
            kind: 'agent',
            scope: hidden ? 'hidden' : 'rarity',
            name: `p${i}`,
            key: `${hidden ? 'hidden' : 'rarity'}/p${i}`,
            description: words(i),
            ownerAccountId: hidden ? other.id : owner.id,
            visibility: hidden ? 'private' : 'public',
            createdAt: at,
            updatedAt: at,
          }),
        );
      }
    });
    if (schema) {
      const client = new pg.Client({ connectionString: process.env.AGENTRY_TEST_DATABASE_URL });
      await client.connect();
      try {
        await client.query(`ANALYZE "${schema}".packages`);
        // The statistics the search reads (LEXEME_STATS_SQL) are there.
        const stats = await client.query<LexemeStats>(LEXEME_STATS_SQL.replace('current_schema()', '$1'), [schema]);
        expect(stats.rows[0]?.lexemes).toEqual(expect.arrayContaining(['plenty', 'scarcity']));
      } finally {
        await client.end();
      }
    }
  }, 60_000);
  afterAll(async () => {
    await storage?.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) await dropTestSchema(schema);
  });

  const names = async (text: string) => {
    const page = await storage.packages.query({ text, sort: 'relevance', offset: 0, limit: 100, read: { all: false, internal: false, memberOwnerIds: [] } });
    return { names: page.rows.map((r) => r.name).sort(), total: page.total };
  };
  const expected = (keep: (i: number) => boolean) => {
    const list = Array.from({ length: COMMON }, (_, i) => i).filter((i) => i % 100 !== 0 && keep(i));
    return { names: list.map((i) => `p${i}`).sort(), total: list.length };
  };

  it('finds exactly the packages holding every word, as prefixes, and none the reader may not see', async () => {
    // The first search reads the statistics in the background (PostgreSQL); the later ones use them.
    for (let round = 0; round < 2; round++) {
      expect(await names('plenty scarcity')).toEqual(expected((i) => i % 50 === 0));
      expect(await names('scarc plenty')).toEqual(expected((i) => i % 50 <= 1));
      expect(await names('plen scarcely oddish')).toEqual(expected((i) => i % 50 === 1));
      expect(await names('scarcity oddish')).toEqual(expected(() => false));
      expect(await names('plenty nowhere')).toEqual(expected(() => false));
      const even = await names('evenish plenty');
      expect(even.total).toBe(expected((i) => i % 2 === 0).total);
      expect(even.names).toHaveLength(100);
      expect(even.names.every((n) => Number(n.slice(1)) % 2 === 0 && Number(n.slice(1)) % 100 !== 0)).toBe(true);
      await new Promise((r) => setTimeout(r, 300));
    }
  });

  it.runIf(store === 'postgres')('finds the same packages when the common words are checked on each row', async () => {
    // Statistics that make `plenty`, `filler`, `evenish` and `oddish` common: the index gets the other words.
    const prefixRows = new PrefixRows(async () => ({ lexemes: ['evenish', 'filler', 'oddish', 'plenty', 'scarcely', 'scarcity'], shares: [0.5, 0.96, 0.5, 1, 0.01, 0.01], rows: 100_000 }));
    prefixRows.of('plenty');
    await new Promise((r) => setTimeout(r, 0));
    expect(indexedWords(['plenty', 'scarcity'], (w) => prefixRows.of(w))).toEqual(['scarcity']);
    const pool = new pg.Pool({ connectionString: process.env.AGENTRY_TEST_DATABASE_URL, options: `-c search_path=${schema}`, max: 1 });
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    try {
      const repo = new SqlPackageRepo(db, 'postgres', postgresTextSearch(prefixRows));
      const driven = async (text: string) => {
        const page = await repo.query({ text, sort: 'relevance', offset: 0, limit: 100, read: { all: false, internal: false, memberOwnerIds: [] } });
        return { names: page.rows.map((r) => r.name).sort(), total: page.total };
      };
      for (const text of ['plenty scarcity', 'scarc plenty', 'plen scarcely oddish', 'scarcity oddish', 'plenty nowhere', 'evenish plenty', 'filler oddish scarcity']) {
        expect(await driven(text)).toEqual(await names(text));
      }
      expect((await driven('scarc plenty')).total).toBe(expected((i) => i % 50 <= 1).total);
      expect((await driven('scarcity oddish')).total).toBe(0);
    } finally {
      await db.destroy();
    }
  });
});
