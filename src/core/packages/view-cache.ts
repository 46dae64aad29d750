import type { PackageViewRecord } from './package-repo.js';

/** Roughly what a view with no text of its own holds on the heap (records, dist-tags, findings). */
const VIEW_BYTES = 1024;

/**
 * Roughly how many heap bytes a view holds: its texts at two bytes a character (the most V8 takes)
 * and its manifest at three times its JSON text (parsed objects outweigh their text). An estimate
 * made once a view enters the cache; it bounds the cache by what packages hold, not by their count.
 */
export const viewBytes = ({ pkg, latest }: PackageViewRecord): number => {
  let chars = (pkg.readme?.length ?? 0) + (pkg.description?.length ?? 0);
  if (latest) {
    if (latest.readme !== pkg.readme) chars += latest.readme?.length ?? 0;
    chars += (JSON.stringify(latest.manifest) ?? '').length * 1.5;
  }
  return VIEW_BYTES + 2 * chars;
};

/**
 * Package views (the read behind a package's detail) kept in memory, least recently used out,
 * up to a number of views and a number of bytes (viewBytes): a registry of long readmes and big
 * manifests holds fewer views, not more memory.
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
  private readonly entries = new Map<string, { view: PackageViewRecord; stamp?: string; bytes: number }>();
  private gen = 0;
  /** The estimated bytes of every cached view. */
  private total = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes = 16 * 1024 * 1024,
  ) {}

  /** The estimated heap bytes of the cached views (viewBytes). */
  get bytes(): number {
    return this.total;
  }

  get size(): number {
    return this.entries.size;
  }

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
      this.drop(key);
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
      const bytes = viewBytes(view);
      // A view bigger than an eighth of the cache is read from the store each time rather than
      // pushing out a good part of the others.
      if (bytes > this.maxBytes / 8) return view;
      this.drop(key);
      while (this.entries.size > 0 && (this.entries.size >= this.maxEntries || this.total + bytes > this.maxBytes)) this.drop(this.entries.keys().next().value!);
      this.entries.set(key, { view, ...(stamp !== undefined ? { stamp } : {}), bytes });
      this.total += bytes;
    }
    return view;
  }

  private drop(key: string): void {
    const hit = this.entries.get(key);
    if (!hit) return;
    this.entries.delete(key);
    this.total -= hit.bytes;
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
    this.drop(key);
  }

  clear(): void {
    this.gen += 1;
    this.entries.clear();
    this.total = 0;
  }
}
