import { CompiledQuery, type Kysely, type Transaction } from 'kysely';

// Compiled once: a savepoint's statements run for every transaction of a batch.
const SAVEPOINT = CompiledQuery.raw('SAVEPOINT agentry_batched');
const ROLLBACK_TO = CompiledQuery.raw('ROLLBACK TO agentry_batched');
const RELEASE = CompiledQuery.raw('RELEASE agentry_batched');

interface Job<Db> {
  fn: (trx: Transaction<Db>) => Promise<unknown>;
  resolve(value: unknown): void;
  reject(e: unknown): void;
}

/**
 * Transactions that share one commit, for a store with a single writing connection (SQLite):
 * transactions asked for while one runs wait for the connection anyway, so the next batch runs
 * them all, one after the other, inside one database transaction, each in a savepoint of its own.
 * One that throws is rolled back to its savepoint and refused alone; the others go on. Each one
 * resolves only after the batch committed (and, with group commit, its commit is on disk), never
 * before: a batch whose commit fails refuses every transaction in it. Nothing outside the batch
 * sees a member's writes before the commit: other statements on the writing connection wait for
 * it, and other connections read committed state only.
 *
 * A batch starts at the end of the event loop's turn in which a transaction was asked for (or the
 * previous batch's sync ended): what the rest of that turn asks for joins it, at a cost of no more
 * than that turn's wait (one transaction alone at low load). It takes up to `maxBatch` of them.
 */
export class BatchedTransactions<Db> {
  private readonly queue: Job<Db>[] = [];
  private running = false;

  constructor(
    private readonly db: Kysely<Db>,
    private readonly maxBatch = 16,
  ) {}

  run<T>(fn: (trx: Transaction<Db>) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        // A batch runs to its commit in one turn of the event loop (its statements are synchronous):
        // the I/O done in this turn (other requests' checks, blob writes, the last batch's sync) may
        // ask for transactions first, which then share its commit.
        await new Promise((resolve) => setImmediate(resolve));
        await this.batch();
      }
    } finally {
      this.running = false;
    }
  }

  private async batch(): Promise<void> {
    const done: { job: Job<Db>; value: unknown }[] = [];
    let current: Job<Db> | undefined;
    let taken = 0;
    try {
      await this.db.transaction().execute(async (trx) => {
        while (taken < this.maxBatch && this.queue.length > 0) {
          current = this.queue.shift()!;
          taken += 1;
          await trx.executeQuery(SAVEPOINT);
          let value: unknown;
          try {
            value = await current.fn(trx);
          } catch (e) {
            const failed = current;
            current = undefined;
            try {
              // Undo this one's writes only. Should the database have ended the whole transaction
              // (SQLite does on some I/O errors), this throws and the batch fails as a whole.
              await trx.executeQuery(ROLLBACK_TO);
              await trx.executeQuery(RELEASE);
            } finally {
              failed.reject(e);
            }
            continue;
          }
          await trx.executeQuery(RELEASE);
          done.push({ job: current, value });
          current = undefined;
        }
      });
    } catch (e) {
      for (const d of done) d.job.reject(e);
      current?.reject(e);
      // The transaction could not even begin: the first in line takes the error, as it would
      // alone, and the next batch tries again for the others.
      if (taken === 0) this.queue.shift()?.reject(e);
      return;
    }
    for (const d of done) d.job.resolve(d.value);
  }
}
