/**
 * The storage port of managed agents (issue 7): managed objects of several kinds owned by an
 * account, their integer revision history, and the memories of memory stores. Plain data only.
 */

export type ManagedKind =
  | 'agent'
  | 'environment'
  | 'skill'
  | 'skill_version'
  | 'vault'
  | 'vault_credential'
  | 'memory_store'
  | 'file'
  | 'model_card'
  | 'agentspace_run'
  | 'environment_work'
  | 'integration'
  | 'integration_publication'
  | 'integration_thread'
  | 'integration_event'
  | 'a2a_task'
  | 'a2a_context';

export interface ManagedObjectRecord {
  /** Insertion order; lists page on it (newest first). */
  seq: number;
  id: string;
  kind: ManagedKind;
  accountId: number;
  /** The object this one belongs to (a vault credential's vault, a file's session). */
  parentId: string | null;
  /** The object this one refers to and that must outlive it (an agent's environment). */
  refId: string | null;
  /** A unique name within (kind, account), where the kind has one (model cards' model_id, skills' package). */
  name: string | null;
  /** The blob this object keeps alive (files, skill versions). */
  digest: string | null;
  /** Current revision for revisioned kinds (agents), else 0. */
  version: number;
  data: Record<string, unknown>;
  archivedAt: string | null;
  expiresAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export type NewManagedObject = Omit<ManagedObjectRecord, 'seq'>;
export type ManagedObjectPatch = Partial<Pick<ManagedObjectRecord, 'refId' | 'name' | 'version' | 'data' | 'archivedAt' | 'digest' | 'updatedAt'>>;

export interface ManagedObjectQuery {
  kind: ManagedKind;
  /** Objects of these accounts (a tenant and, for skills, the built-in owner). */
  accountIds: number[];
  parentId?: string;
  /** Also objects of any account whose parentId is this (built-in skills, shared with every tenant). */
  sharedParentId?: string;
  archived: 'exclude' | 'only' | 'include';
  /** Objects inserted before this sequence number (the page token). */
  beforeSeq?: number;
  /** Leave out objects whose expiry is at or before this time. */
  liveAt?: string;
  limit: number;
}

export interface RevisionRecord {
  objectId: string;
  revision: number;
  data: Record<string, unknown>;
  createdAt: string;
}

export interface MemoryRecord {
  seq: number;
  id: string;
  storeId: string;
  path: string;
  content: string;
  sha256: string;
  sizeBytes: number;
  embedding: number[] | null;
  createdAt: string;
  updatedAt: string;
}

export type NewMemory = Omit<MemoryRecord, 'seq'>;

export interface ManagedRepo {
  insert(o: NewManagedObject): Promise<ManagedObjectRecord>;
  /**
   * Inserts `o` unless an object of its kind and account already holds its name, for the kinds
   * whose names are keys (an `agent` a package version maps to, an `agentspace_run`, a
   * `model_card`'s model_id): then
   * nothing is written and the result is undefined (read the holder with findByName).
   */
  insertUnlessNamed(o: NewManagedObject): Promise<ManagedObjectRecord | undefined>;
  find(id: string): Promise<ManagedObjectRecord | undefined>;
  /** Reads and locks the row for the rest of the transaction where the store supports it. */
  lock(id: string): Promise<ManagedObjectRecord | undefined>;
  findByName(kind: ManagedKind, accountId: number, name: string): Promise<ManagedObjectRecord | undefined>;
  update(id: string, patch: ManagedObjectPatch): Promise<void>;
  delete(id: string): Promise<boolean>;
  list(q: ManagedObjectQuery): Promise<ManagedObjectRecord[]>;
  /** Objects of `kind`, not archived, whose refId is `refId`. */
  referrers(kind: ManagedKind, refId: string, limit: number): Promise<ManagedObjectRecord[]>;
  /** Objects (at most `limit`) that keep the blob `digest`: who owns a blob. */
  withDigest(digest: string, limit: number): Promise<ManagedObjectRecord[]>;
  /** Objects whose expiry has passed. */
  expired(at: string, limit: number): Promise<ManagedObjectRecord[]>;

  insertRevision(r: RevisionRecord): Promise<void>;
  findRevision(objectId: string, revision: number): Promise<RevisionRecord | undefined>;
  /** Newest first, revisions below `beforeRevision` when given. */
  listRevisions(objectId: string, beforeRevision: number | undefined, limit: number): Promise<RevisionRecord[]>;

  insertMemory(m: NewMemory): Promise<MemoryRecord>;
  findMemory(id: string): Promise<MemoryRecord | undefined>;
  findMemoryByPath(storeId: string, path: string): Promise<MemoryRecord | undefined>;
  updateMemory(id: string, patch: Partial<Pick<MemoryRecord, 'path' | 'content' | 'sha256' | 'sizeBytes' | 'embedding' | 'updatedAt'>>): Promise<void>;
  deleteMemory(id: string): Promise<boolean>;
  /** Newest first; memories inserted before `beforeSeq` when given; paths starting with `pathPrefix`. */
  listMemories(storeId: string, opts: { beforeSeq?: number; pathPrefix?: string; limit: number }): Promise<MemoryRecord[]>;
  /** Full-text match of `text` over path and content, best first, with a relevance score (higher is better). */
  searchMemories(storeId: string, text: string, limit: number): Promise<Array<{ memory: MemoryRecord; score: number }>>;
  /** Every memory of a store that carries an embedding (for vector ranking). */
  memoriesWithEmbeddings(storeId: string, limit: number): Promise<MemoryRecord[]>;
}
