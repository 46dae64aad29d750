/** Storage port the blob garbage collector reads to know which blobs are still in use. */

/** Every digest the metadata store still points at, for blob garbage collection. */
export interface BlobRefRepo {
  /**
   * Package tarballs, OCI manifests and what they reference, and blobs linked into an OCI
   * repository since `linkedSince` (ISO time; all links when absent): a blob pushed for a
   * manifest not pushed yet is in use too.
   */
  referencedDigests(linkedSince?: string): Promise<Set<string>>;
  isReferenced(digest: string, linkedSince?: string): Promise<boolean>;
}
