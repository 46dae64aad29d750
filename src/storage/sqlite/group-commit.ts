import type Database from 'better-sqlite3';
import { SqliteDialect, type Driver, type SqliteDatabase, type SqliteStatement } from 'kysely';
import { CoalescedSync } from '../files/coalesced-sync.js';

/**
 * Group commit for the embedded store. SQLite runs with `synchronous = NORMAL` (a commit writes
 * the WAL but does not fsync it, on the event loop), and every write is made durable before its
 * query resolves by an fdatasync of the WAL file on the thread pool: one sync for every commit
 * that landed since the last one started. No caller sees its write acknowledged before it is on
 * disk, as with `synchronous = FULL`, but concurrent writers share the syncs and the event loop
 * never waits for the disk. Checkpoints keep SQLite's own syncs (NORMAL syncs the WAL before
 * copying it into the database and the database after).
 */
export class WalSync extends CoalescedSync {
  constructor(walFile: string) {
    super(walFile, 'data');
  }
}

/**
 * better-sqlite3 behind Kysely with group commit (see WalSync): a write outside a transaction,
 * and every transaction that wrote, resolves only after the WAL holding it was synced.
 * `statements` is the statement source (the statement cache); writing statements are wrapped to
 * note that they ran.
 */
export const groupCommitDialect = (raw: Database.Database, statements: SqliteDatabase, wal: WalSync): SqliteDialect => {
  let wrote = false;
  const database: SqliteDatabase = {
    prepare(sql: string): SqliteStatement {
      const stmt = statements.prepare(sql);
      const writes = !(stmt as unknown as Database.Statement).readonly;
      if (!writes) return stmt;
      return {
        reader: stmt.reader,
        all: (p) => {
          wrote = true;
          return stmt.all(p);
        },
        run: (p) => {
          wrote = true;
          return stmt.run(p);
        },
        iterate: (p) => {
          wrote = true;
          return stmt.iterate(p);
        },
      };
    },
    close: () => statements.close(),
  };
  return new (class extends SqliteDialect {
    override createDriver(): Driver {
      const inner = super.createDriver();
      return {
        init: () => inner.init(),
        acquireConnection: () => inner.acquireConnection(),
        beginTransaction: (c, s) => inner.beginTransaction(c, s),
        commitTransaction: (c) => inner.commitTransaction(c),
        rollbackTransaction: (c) => inner.rollbackTransaction(c),
        // Kysely awaits the release before a query or transaction resolves: sync there, once the
        // connection is free for the next writer, whose commit then joins the next sync.
        releaseConnection: async (c) => {
          const sync = wrote && !raw.inTransaction;
          if (sync) wrote = false;
          await inner.releaseConnection(c);
          if (sync) await wal.sync();
        },
        destroy: () => inner.destroy(),
        ...(inner.savepoint ? { savepoint: inner.savepoint.bind(inner) } : {}),
        ...(inner.rollbackToSavepoint ? { rollbackToSavepoint: inner.rollbackToSavepoint.bind(inner) } : {}),
        ...(inner.releaseSavepoint ? { releaseSavepoint: inner.releaseSavepoint.bind(inner) } : {}),
      };
    }
  })({ database });
};
