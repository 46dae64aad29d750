/**
 * Lookups by key that arrive in the same turn of the event loop, answered by one query for all
 * of them (`loadMany`). Under load a server receives many reads at once; on a networked store
 * one round trip and one statement for the lot cost far less than one each. A lookup is queued
 * before its query is sent, so it always sees every write committed before it was made.
 */
export class KeyBatcher<V> {
  private pending = new Map<string, Array<{ resolve: (v: V | undefined) => void; reject: (e: unknown) => void }>>();
  private scheduled = false;

  constructor(
    private readonly loadMany: (keys: string[]) => Promise<Map<string, V>>,
    private readonly maxBatch = 256,
  ) {}

  load(key: string): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      const waiters = this.pending.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else this.pending.set(key, [{ resolve, reject }]);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = new Map();
    const keys = [...batch.keys()];
    for (let i = 0; i < keys.length; i += this.maxBatch) {
      const chunk = keys.slice(i, i + this.maxBatch);
      this.loadMany(chunk).then(
        (found) => {
          for (const k of chunk) for (const w of batch.get(k)!) w.resolve(found.get(k));
        },
        (e: unknown) => {
          for (const k of chunk) for (const w of batch.get(k)!) w.reject(e);
        },
      );
    }
  }
}
