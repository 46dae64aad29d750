/**
 * Turns texts into vectors, one per text (an adapter: an OpenAI-compatible embeddings endpoint,
 * src/adapters/embeddings). Memory-store search and package search (core/search) share this port.
 */
export interface Embedder {
  embed(texts: string[]): Promise<number[][]>;
}

/** Cosine similarity of two vectors (0 when their lengths differ or one is all zeros). */
export const cosine = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  if (a.length !== b.length) return 0;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
};
