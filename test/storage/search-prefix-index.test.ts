import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Storage } from '../../src/core/storage.js';
import { openStorage } from '../../src/storage/open-storage.js';
import { PREFIX_LENGTHS } from '../../src/storage/sql/migrations/0047-search-prefix-index.js';
import { packageRow } from '../helpers/package-rows.js';

/**
 * SQLite's FTS5 prefix indexes (migration 0047) change how a search word's matches are read, not
 * which they are: every query gives the same page, order and total with them as without them.
 */
describe('FTS5 prefix indexes (sqlite)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'agentry-prefix-'));
  const file = join(dataDir, 'agentry.db');
  let storage: Storage;
  // Words sharing prefixes of every length from 1 to 11 characters, some longer than the longest indexed prefix.
  const WORDS = ['qa', 'qat', 'qatar', 'qatari', 'qatarine', 'qatarines', 'qatarinesque', 'quartz', 'quartzite', 'quasar', 'zebra', 'zebrafish', 'zen', 'zenith'];
  const QUERIES = [
    'q',
    'qa',
    'qat',
    'qata',
    'qatar',
    'qatari',
    'qatarin',
    'qatarine',
    'qatarines',
    'qatarinesq',
    'quartzit',
    'z',
    'ze',
    'zebr zen',
    'qa zeni',
    'quas qatari',
    'zebrafish quartz qa',
    'nothing',
    'qatarinesque zen',
  ];

  const open = async () => (await openStorage({ dataDir })).storage;
  const results = async () => {
    const out: Record<string, unknown> = {};
    for (const text of QUERIES) {
      for (const sort of ['relevance', 'name'] as const) {
        const page = await storage.packages.query({ text, sort, offset: 0, limit: 15, read: { all: false, internal: false, memberOwnerIds: [] } });
        out[`${text} (${sort})`] = { names: page.rows.map((r) => r.name), total: page.total };
      }
    }
    return out;
  };

  beforeAll(async () => {
    storage = await open();
    const at = new Date().toISOString();
    await storage.transaction(async (tx) => {
      const owner = await tx.accounts.insert({ name: 'prefixes', kind: 'user' }, at);
      await tx.scopes.insert('prefixes', owner.id, at);
      for (let i = 0; i < 120; i++) {
        const word = (k: number) => WORDS[(i * k + k) % WORDS.length]!;
        await tx.packages.insert(
          packageRow({
            kind: 'agent',
            scope: 'prefixes',
            name: `${word(3)}-${i}`,
            key: `prefixes/${word(3)}-${i}`,
            description: [word(1), word(5), word(7)].join(' '),
            readme: `# ${word(11)}\n\n${word(2)} ${word(2)}`,
            tags: [word(13)],
            ownerAccountId: owner.id,
            createdAt: at,
            updatedAt: at,
          }),
        );
      }
    });
  });
  afterAll(async () => {
    await storage?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('are kept for words of 2 to 8 characters', () => {
    const db = new SQLite(file, { readonly: true });
    try {
      const { sql } = db.prepare(`SELECT sql FROM sqlite_master WHERE name = 'package_fts'`).get() as { sql: string };
      expect(sql).toContain(`prefix='${PREFIX_LENGTHS}'`);
      expect(PREFIX_LENGTHS).toBe('2 3 4 5 6 7 8');
    } finally {
      db.close();
    }
  });

  it('find the same packages, in the same order, with the same totals as the index without them', async () => {
    const withPrefixes = await results();
    expect(Object.values(withPrefixes).some((r) => (r as { total: number }).total > 15)).toBe(true);
    await storage.close();
    // The same store with the table as migration 0001 made it (no prefix indexes), filled from the same rows.
    const db = new SQLite(file);
    try {
      db.exec(`DROP TABLE package_fts`);
      db.exec(`CREATE VIRTUAL TABLE package_fts USING fts5(scope, name, description, tags, readme,
        content='packages', content_rowid='id', tokenize='unicode61 remove_diacritics 2')`);
      db.exec(`INSERT INTO package_fts(package_fts) VALUES ('rebuild')`);
    } finally {
      db.close();
    }
    storage = await open();
    expect(await results()).toEqual(withPrefixes);
  });
});
