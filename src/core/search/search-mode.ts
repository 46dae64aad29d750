import { badRequest, unprocessable } from '../errors.js';
import type { PackageSort } from '../packages/package-repo.js';

/** How a package search ranks: by its words (full-text), by meaning (embeddings), or both fused. */
export const SEARCH_MODES = ['keyword', 'semantic', 'hybrid'] as const;
export type SearchMode = (typeof SEARCH_MODES)[number];

/** What a search did: the mode it ranked by and, when it fell back to keywords, why. */
export interface SearchOutcome {
  mode: SearchMode;
  /** Set when `semantic` or `hybrid` was asked but the embeddings endpoint failed: keyword results were served. */
  semanticUnavailable?: string;
}

/**
 * Refuses what a semantic or hybrid search cannot do: without an embeddings endpoint configured
 * (422), without a text query, or in another order than relevance (400). A keyword search passes.
 */
export const checkSearchMode = (mode: SearchMode, q: { text?: string; sort: PackageSort }, configured: boolean): void => {
  if (mode === 'keyword') return;
  if (!configured) {
    throw unprocessable(`Semantic search is not configured on this server: mode=${mode} needs an embeddings endpoint (--embeddings-url); use mode=keyword`);
  }
  if (!q.text || q.text.trim() === '') throw badRequest(`mode=${mode} needs a search text (q)`);
  if (q.sort !== 'relevance') throw badRequest(`mode=${mode} ranks by relevance: leave sort out or set sort=relevance (got '${q.sort}')`);
};
