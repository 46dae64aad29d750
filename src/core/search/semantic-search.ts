import type { AccountRecord } from '../accounts/account-repo.js';
import type { Embedder } from '../embeddings/embedder.js';
import type { Page } from '../page.js';
import type { PackageQuery, PackageRecord, PackageRepo } from '../packages/package-repo.js';
import { reciprocalRankFusion } from './hybrid-rank.js';
import type { PackageVectorStore } from './package-vectors.js';
import type { SearchOutcome } from './search-mode.js';
import { VectorIndex } from './vector-index.js';

/** How many nearest packages (and, in hybrid, keyword matches) a search ranks, at least; more when the page reaches deeper. */
export const SEMANTIC_CANDIDATES = 100;
/** The most candidates a search ranks, however deep the page. */
const MAX_CANDIDATES = 1000;
/** Packages less similar than this to the query are no semantic match (cosine; unrelated texts score near 0). */
export const SEMANTIC_MIN_SCORE = 0.2;
/** Query texts whose vectors are remembered (a next page, a repeated search: no second request). */
const QUERY_CACHE = 256;

type PageWithOwners = Page<PackageRecord> & { owners: Map<number, AccountRecord> };

export interface SemanticSearchDeps {
  packages: PackageRepo;
  vectors: PackageVectorStore;
  embedder: Embedder;
  model: string;
}

/**
 * Semantic and hybrid package search (issue 20). The query text is embedded, its nearest packages
 * taken from the vector index, and those the caller may read kept by the very query keyword search
 * runs (`PackageRepo.query` with the caller's read filter and every filter of the request, restricted
 * to the candidates' ids): no private package reaches a page or a total through its vector.
 * `semantic` orders them by cosine similarity; `hybrid` fuses that order with the keyword search's
 * by reciprocal rank fusion (see hybrid-rank.ts). When the embeddings endpoint fails, the keyword
 * search's page is served and the outcome says semantic search was unavailable.
 */
export class SemanticSearch {
  readonly index: VectorIndex;
  private readonly queryVectors = new Map<string, number[]>();

  constructor(
    private readonly deps: SemanticSearchDeps,
    maxVectors?: number,
  ) {
    this.index = new VectorIndex(deps.vectors, deps.model, maxVectors);
  }

  /** A page of `q` (its read filter set) ranked by `mode`. */
  async search(q: PackageQuery & { text: string }, mode: 'semantic' | 'hybrid'): Promise<PageWithOwners & { search: SearchOutcome }> {
    const window = Math.min(MAX_CANDIDATES, Math.max(SEMANTIC_CANDIDATES, q.offset + q.limit));
    let queryVector: number[];
    try {
      queryVector = await this.embedQuery(q.text);
    } catch (e) {
      const page = await this.deps.packages.query(q);
      return { ...page, search: { mode: 'keyword', semanticUnavailable: `the embeddings endpoint failed (${e instanceof Error ? e.message : String(e)}); keyword results are shown` } };
    }
    await this.index.refresh();
    const hits = this.index.nearest(queryVector, window, SEMANTIC_MIN_SCORE);
    const readable = hits.length === 0 ? undefined : await this.deps.packages.query({ ...q, text: undefined, ids: hits.map((h) => h.packageId), sort: 'relevance', offset: 0, limit: hits.length });
    const rows = new Map<number, PackageRecord>(readable?.rows.map((r) => [r.id, r]));
    const owners = new Map(readable?.owners);
    const semantic = hits.map((h) => h.packageId).filter((id) => rows.has(id));
    let order = semantic;
    if (mode === 'hybrid') {
      const keyword = await this.deps.packages.query({ ...q, sort: 'relevance', offset: 0, limit: window });
      for (const r of keyword.rows) rows.set(r.id, r);
      for (const [id, a] of keyword.owners) owners.set(id, a);
      order = reciprocalRankFusion([keyword.rows.map((r) => r.id), semantic]);
    }
    const page = order.slice(q.offset, q.offset + q.limit).map((id) => rows.get(id)!);
    return { rows: page, total: order.length, owners, search: { mode } };
  }

  private async embedQuery(text: string): Promise<number[]> {
    const key = text.trim();
    const cached = this.queryVectors.get(key);
    if (cached) return cached;
    const [v] = await this.deps.embedder.embed([key]);
    if (this.queryVectors.size >= QUERY_CACHE) this.queryVectors.delete(this.queryVectors.keys().next().value!);
    this.queryVectors.set(key, v);
    return v;
  }
}
