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
  /** Each view with the stamp it was read under (see PackageViewStamps), when the store gives stamps. */
  private readonly entries = new Map<string, { view: PackageViewRecord; stamp?: string }>();
  private gen = 0;

  constructor(private readonly maxEntries: number) {}

  get generation(): number {
    return this.gen;
  }

  /** Whether a view of `key` is cached (under whatever stamp). */
  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** The cached view, if any and (with a stamp) read under that same stamp. */
  get(key: string, stamp?: string): PackageViewRecord | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    if (hit.stamp !== stamp) {
      this.entries.delete(key);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, hit);
    return hit.view;
  }

  /**
   * Stores `view` (read under `stamp`, read before it) unless anything was invalidated since
   * `generation` was read; returns `view`.
   */
  set<T extends PackageViewRecord | undefined>(key: string, view: T, generation: number, stamp?: string): T {
    if (view && generation === this.gen && this.maxEntries > 0 && this.admit(key)) {
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(key, { view, ...(stamp !== undefined ? { stamp } : {}) });
    }
    return view;
  }

  /**
   * Keys read once lately. A view enters the cache on its second read from the store, not its
   * first: reads spread over far more packages than the cache holds would otherwise replace an
   * entry on nearly every request, each new entry living long enough to be promoted to the
   * old generation of the heap — garbage-collection work for entries that are never hit.
   */
  private readonly seenOnce = new Set<string>();

  private admit(key: string): boolean {
    if (this.entries.has(key) || this.seenOnce.delete(key)) return true;
    if (this.seenOnce.size >= this.maxEntries) this.seenOnce.clear();
    this.seenOnce.add(key);
    return false;
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
