import pg from 'pg';

/** Drops a test's PostgreSQL schema (and everything in it) on AGENTRY_TEST_DATABASE_URL. */
export const dropTestSchema = async (schema: string): Promise<void> => {
  const client = new pg.Client({ connectionString: process.env.AGENTRY_TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
};
