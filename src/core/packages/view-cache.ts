import type { PackageViewRecord } from './package-repo.js';

/**
 * Package views (the read behind a package's detail) kept in memory, least recently used out.
 * Every write to a package drops its entry once committed, in this process directly and in the
 * others through the store's change feed. A generation counter guards the race where a read
 * that started before a write stores its (old) result after the write dropped the entry.
 *
 * @example
 *   const gen = cache.generation;
 *   const view = cache.get(key) ?? cache.set(key, await repo.findView(key), gen);
 */
export class ViewCache {
  private readonly entries = new Map<string, PackageViewRecord>();
  private gen = 0;

  constructor(private readonly maxEntries: number) {}

  get generation(): number {
    return this.gen;
  }

  get(key: string): PackageViewRecord | undefined {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  /** Stores `view` unless anything was invalidated since `generation` was read; returns `view`. */
  set<T extends PackageViewRecord | undefined>(key: string, view: T, generation: number): T {
    if (view && generation === this.gen && this.maxEntries > 0) {
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(key, view);
    }
    return view;
  }

  invalidate(key: string): void {
    this.gen += 1;
    this.entries.delete(key);
  }

  clear(): void {
    this.gen += 1;
    this.entries.clear();
  }
}
