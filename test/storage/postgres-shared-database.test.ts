import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStorage } from '../../src/storage/postgres/open-postgres.js';
import type { SqlStorage } from '../../src/storage/sql/sql-storage.js';
import { dropTestSchema } from '../helpers/postgres.js';

const url = process.env.AGENTRY_TEST_DATABASE_URL;

/**
 * A database shared with other schemas that come and go (other deployments, other applications):
 * start-up migrations and the readiness check must look at Agentry's own schema only. Kysely's own
 * introspector read every schema's columns and failed with "schema … does not exist" when another
 * one was dropped mid-query.
 */
describe.skipIf(!url)('PostgreSQL shared with schemas that are created and dropped meanwhile', () => {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const others: string[] = [];
  let storage: SqlStorage;
  let admin: pg.Client;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
  });
  afterAll(async () => {
    await storage?.close();
    await dropTestSchema(schema);
    for (const other of others) await admin.query(`DROP SCHEMA IF EXISTS "${other}" CASCADE`);
    await admin.end();
  });

  const churn = async (rounds: number): Promise<void> => {
    for (let i = 0; i < rounds; i++) {
      const other = `t_churn_${randomBytes(5).toString('hex')}`;
      others.push(other);
      await admin.query(`CREATE SCHEMA "${other}"`);
      await admin.query(`CREATE TABLE "${other}".a (id serial primary key, v text)`);
      await admin.query(`CREATE TABLE "${other}".b (id serial primary key, v text)`);
      await admin.query(`DROP SCHEMA "${other}" CASCADE`);
    }
  };

  it('migrates and reports readiness while other schemas churn', async () => {
    const churning = churn(60);
    storage = await openPostgresStorage({ url: url!, schema });
    const checks: Promise<string[]>[] = [];
    for (let i = 0; i < 60; i++) checks.push(storage.pendingMigrations());
    const [pending] = await Promise.all([Promise.all(checks), churning]);
    expect(pending.every((p) => p.length === 0)).toBe(true);
  }, 60_000);

  it('a second process opening the same schema finds it migrated', async () => {
    const again = await openPostgresStorage({ url: url!, schema });
    try {
      expect(await again.pendingMigrations()).toEqual([]);
    } finally {
      await again.close();
    }
  });
});
