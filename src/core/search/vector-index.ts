import type { PackageVectorStore } from './package-vectors.js';

/** The most vectors one process holds (at 1,536 dimensions, about 120 MB); past it, the oldest-written are dropped. */
export const VECTOR_INDEX_MAX = 20_000;
/** Vectors read from the store per statement while the index catches up. */
const LOAD_BATCH = 2_000;

/** A nearest neighbour: the package and its cosine similarity to the query. */
export interface VectorHit {
  packageId: number;
  score: number;
}

/** `v` scaled to length 1 (cosine similarity is then a dot product); undefined for a zero vector. */
export const unitVector = (v: ArrayLike<number>): Float32Array | undefined => {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i] * v[i];
  if (n === 0 || !Number.isFinite(n)) return undefined;
  const s = 1 / Math.sqrt(n);
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i] * s;
  return out;
};

/**
 * The in-process vector index of package search (used where the store has no vector index of its
 * own): every package's unit vector, loaded from the store and kept coherent with it by a stamp
 * (the highest `seq` written): before each search the store's stamp is read (one indexed
 * statement) and only the vectors written since are loaded, so a vector another process wrote
 * shows at the next search. Exact cosine top-k by a linear scan; memory bounded by VECTOR_INDEX_MAX.
 */
export class VectorIndex {
  private readonly vectors = new Map<number, { seq: number; v: Float32Array }>();
  private loadedSeq = 0;
  private loading: Promise<void> | undefined;

  constructor(
    private readonly store: PackageVectorStore,
    private readonly model: string,
    private readonly max = VECTOR_INDEX_MAX,
  ) {}

  get size(): number {
    return this.vectors.size;
  }

  /** Catches up with the store (concurrent callers share one load). */
  async refresh(): Promise<void> {
    this.loading ??= this.catchUp().finally(() => (this.loading = undefined));
    await this.loading;
  }

  private async catchUp(): Promise<void> {
    if ((await this.store.stamp(this.model)) <= this.loadedSeq) return;
    for (;;) {
      const batch = await this.store.vectorsAfter(this.model, this.loadedSeq, LOAD_BATCH);
      for (const r of batch) {
        const v = r.vector && unitVector(r.vector);
        if (v) this.vectors.set(r.packageId, { seq: r.seq, v });
        else this.vectors.delete(r.packageId);
        this.loadedSeq = Math.max(this.loadedSeq, r.seq);
      }
      if (batch.length < LOAD_BATCH) break;
    }
    this.evict();
  }

  /** Keeps the `max` most recently written vectors. */
  private evict(): void {
    const over = this.vectors.size - this.max;
    if (over <= 0) return;
    const oldest = [...this.vectors.entries()].sort((a, b) => a[1].seq - b[1].seq).slice(0, over);
    for (const [id] of oldest) this.vectors.delete(id);
  }

  /** The `k` packages nearest `query` by cosine similarity, above `minScore`, best first. */
  nearest(query: ArrayLike<number>, k: number, minScore: number): VectorHit[] {
    const q = unitVector(query);
    if (!q || k <= 0) return [];
    const hits: VectorHit[] = [];
    for (const [packageId, { v }] of this.vectors) {
      if (v.length !== q.length) continue;
      let dot = 0;
      for (let i = 0; i < q.length; i++) dot += q[i] * v[i];
      if (dot > minScore) hits.push({ packageId, score: dot });
    }
    hits.sort((a, b) => b.score - a.score || b.packageId - a.packageId);
    return hits.slice(0, k);
  }
}
