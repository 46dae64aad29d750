import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import pg from 'pg';

/** Helpers bench/oci.mjs and bench/oci-pull.mjs share. */

const MB = 1024 * 1024;

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** A file of `size` random bytes, written in pieces. */
export const randomFile = async (path, size) => {
  const out = createWriteStream(path);
  for (let left = size; left > 0;) {
    const piece = randomBytes(Math.min(left, MB));
    if (!out.write(piece)) await new Promise((r) => out.once('drain', r));
    left -= piece.length;
  }
  await new Promise((r, j) => out.end((e) => (e ? j(e) : r())));
};

/** Fresh PostgreSQL schemas named `<prefix>_<random>` for the servers of a bench, all dropped by `dropAll`. */
export const pgSchemas = (databaseUrl, prefix) => {
  const made = [];
  const run = async (sqls) => {
    const c = new pg.Client({ connectionString: databaseUrl });
    await c.connect();
    try {
      for (const sql of sqls) await c.query(sql);
    } finally {
      await c.end();
    }
  };
  return {
    async create() {
      const schema = `${prefix}_${randomBytes(4).toString('hex')}`;
      await run([`CREATE SCHEMA ${schema}`]);
      made.push(schema);
      return schema;
    },
    async dropAll() {
      if (made.length) await run(made.splice(0).map((s) => `DROP SCHEMA ${s} CASCADE`));
    },
  };
};
