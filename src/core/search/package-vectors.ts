/**
 * The storage port of semantic package search: one embedding vector per package, computed from
 * its latest version's searchable text (name, description, tags, README or SKILL.md body). Rows are
 * queued (`pending`) by the write that changes that text, in its own transaction (the outbox), and
 * worked off after commit by the PackageEmbedder; every vector write takes a new `seq`, in commit
 * order, so an in-process index reads only what changed since its stamp. The SQL implementation is
 * src/storage/sql/package-vector-store.ts (migration 0042).
 */

/** What a write reaches inside its own transaction (`StorageRepos.searchOutbox`). */
export interface PackageVectorOutbox {
  /** Queues the package's vector to be (re)computed, due at once; a vector being computed meanwhile is not taken as current. */
  enqueue(packageId: number): Promise<void>;
}

/** A queued package as the embedder leased it, with the text its vector is made from. */
export interface EmbeddingJob {
  packageId: number;
  /** The queue generation the job was leased at (a later enqueue makes the result stale). */
  generation: number;
  /** The text's sha256 and model of the vector stored now, if any (the same text and model: nothing to ask). */
  storedTextSha256: string | null;
  storedModel: string | null;
  attempts: number;
  /** The package's searchable fields; null `latestVersion`: nothing is published (no vector). */
  scope: string;
  name: string;
  kind: string;
  description: string | null;
  readme: string | null;
  tags: string[];
  latestVersion: string | null;
}

/** A stored vector, as the index loads it; null: the package has none any more (drop it). */
export interface StoredVector {
  packageId: number;
  seq: number;
  vector: Float32Array | null;
}

export interface PackageVectorStore extends PackageVectorOutbox {
  /**
   * The backfill: queues every published package without a vector of `model` (published before
   * embeddings were configured, or under another model) and makes queued rows due now. How many were queued.
   */
  backfill(model: string, now: string): Promise<number>;
  /** Leases up to `limit` queued packages whose time has come and nobody holds, to `owner` until `until`. */
  claim(owner: string, now: string, until: string, limit: number): Promise<EmbeddingJob[]>;
  /**
   * Stores the job's vector under a new `seq` (null: the package has no text, its vector is dropped;
   * `unchanged`: the stored vector is current, nothing new is written) and releases the lease; the
   * row stays queued when it was queued again meanwhile.
   */
  save(owner: string, job: EmbeddingJob, result: { vector: Float32Array | null | 'unchanged'; model: string; textSha256: string; at: string }): Promise<void>;
  /** Records a failed attempt: the row is tried again at `retryAt`, its lease released. */
  fail(owner: string, job: EmbeddingJob, retryAt: string, error: string): Promise<void>;
  /** The highest `seq` of a vector of `model` (0 when none): the index's stamp. */
  stamp(model: string): Promise<number>;
  /** Vectors of `model` (and removals) written after `seq`, in `seq` order, at most `limit`. */
  vectorsAfter(model: string, seq: number, limit: number): Promise<StoredVector[]>;
  /** How many packages are queued and how many have a vector of `model` (an operator's figure). */
  counts(model: string): Promise<{ pending: number; indexed: number }>;
}
