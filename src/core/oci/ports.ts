import type { Readable } from 'node:stream';
import type { ReadFilter, Visibility } from '../access/visibility.js';

/** A manifest stored in a repository (its bytes live in the blob store under `digest`). */
export interface OciManifestRecord {
  repo: string;
  digest: string;
  mediaType: string;
  artifactType: string | null;
  size: number;
  subject: string | null;
  annotations: Record<string, string> | null;
  createdAt: string;
}

/**
 * Who owns a repository that is not a package, and who may read it. Made at its first push; a
 * repository an agentspace was published into follows that agentspace's visibility.
 */
export interface OciRepositoryRecord {
  repo: string;
  /** The account (user or org) owning the repository's scope. */
  ownerAccountId: number;
  visibility: Visibility;
  /** The agentspace published into it, when one was: its visibility changes reach the repository. */
  agentspace: { ownerAccountId: number; agentspaceId: string } | null;
  createdAt: string;
}

/** An upload session: its bytes grow in the upload store under `id`. */
export interface OciUploadRecord {
  id: string;
  repo: string;
  createdAt: string;
}

/**
 * The OCI metadata port: repositories are implicit (a repository exists while it holds a
 * manifest, a tag or a blob). Implemented by the SQL stores (`src/storage/sql/oci-repo.ts`).
 */
export interface OciRepo {
  /** Links a blob into a repository (again: refreshes `linkedAt`). */
  linkBlob(repo: string, digest: string, at: string): Promise<void>;
  unlinkBlob(repo: string, digest: string): Promise<boolean>;
  isLinked(repo: string, digest: string): Promise<boolean>;
  findManifest(repo: string, digest: string): Promise<OciManifestRecord | undefined>;
  /** Stores a manifest and the digests it references; a manifest already there is left as is. */
  insertManifest(m: OciManifestRecord, references: string[]): Promise<void>;
  /** Deletes a manifest, the tags pointing at it and its references. */
  deleteManifest(repo: string, digest: string): Promise<boolean>;
  findTag(repo: string, tag: string): Promise<string | undefined>;
  setTag(repo: string, tag: string, digest: string, at: string): Promise<void>;
  deleteTag(repo: string, tag: string): Promise<boolean>;
  listTags(repo: string): Promise<string[]>;
  /** Manifests in `repo` whose subject is `digest`, oldest first. */
  referrers(repo: string, digest: string): Promise<OciManifestRecord[]>;
  /**
   * Repository names after `last` in byte order, at most `limit`: every OCI repository that holds
   * a manifest or tag, and every package (`scope/name`, lower case) — of those, only what `filter`
   * (AccessPolicy.readFilter) lets through: a package by its own visibility, any other repository by
   * its record's.
   */
  listRepositories(last: string | undefined, limit: number, filter?: ReadFilter): Promise<string[]>;
  /** Repositories (at most `limit`) holding `digest` as a manifest, a blob a manifest refers to, or a linked blob: who owns a blob. */
  repositoriesHolding(digest: string, limit: number): Promise<string[]>;
  /** True when the repository holds any manifest, tag or blob. */
  repositoryExists(repo: string): Promise<boolean>;
  findRepository(repo: string): Promise<OciRepositoryRecord | undefined>;
  /** Records a repository at its first push; one already recorded is left as it is. */
  ensureRepository(r: OciRepositoryRecord): Promise<void>;
  /** Records a repository, or replaces its owner, visibility and agentspace (an agentspace published into it). */
  putRepository(r: OciRepositoryRecord): Promise<void>;
  /** Sets the visibility of every repository an agentspace was published into; returns their names. */
  setAgentspaceVisibility(ownerAccountId: number, agentspaceId: string, visibility: Visibility): Promise<string[]>;
  /** The agentspace is gone: its repositories keep their visibility and follow no agentspace any more. */
  forgetAgentspace(ownerAccountId: number, agentspaceId: string): Promise<void>;
  insertUpload(u: OciUploadRecord): Promise<void>;
  findUpload(id: string): Promise<OciUploadRecord | undefined>;
  deleteUpload(id: string): Promise<void>;
  /** Uploads started before `before`, for cleaning up abandoned ones. */
  uploadsStartedBefore(before: string): Promise<OciUploadRecord[]>;
  /** The key that signs the registry's short-lived bearer tokens (made once, shared by every process). */
  signingKey(): Promise<string>;
}

/**
 * Where partial blob uploads grow, never in memory: on disk (in the data dir) or in the object
 * store beside the blobs. An upload survives a restart and is resumed from its size.
 */
export interface UploadStore {
  create(id: string): Promise<void>;
  /** Bytes received so far; undefined when there is no such upload. */
  size(id: string): Promise<number | undefined>;
  /** Appends a stream to the upload, durably (synced to disk, or one whole object); returns the new size. */
  append(id: string, data: Readable): Promise<number>;
  /** Cuts the upload back to `size` bytes (a chunk that failed half-way is taken back). */
  truncate(id: string, size: number): Promise<void>;
  open(id: string): Promise<Readable>;
  delete(id: string): Promise<void>;
  /**
   * Moves a whole upload, whose sha256 the caller computed from the bytes as they were appended and
   * checked to be `digest`, into the blob store at that digest without copying it (a rename on one
   * filesystem). Undefined when this store cannot (another filesystem, another kind of store): the
   * caller then copies the upload with `BlobStore.put`, which hashes it again.
   */
  moveVerified?(id: string, digest: string): Promise<{ size: number } | undefined>;
}
