/** Storage port of content-addressed blobs: the bytes of tarballs, OCI layers and uploads (file system or S3). */
import type { Readable } from 'node:stream';

export interface BlobInfo {
  digest: string;
  size: number;
  modifiedAt: Date;
}

export interface ByteRange {
  start: number;
  /** inclusive */
  end: number;
}

/**
 * Content-addressed bytes (`sha256:<hex>`). Writes are atomic: a blob is either fully
 * there under its digest or not there at all.
 */
export interface BlobStore {
  put(data: Buffer | Readable): Promise<{ digest: string; size: number; created: boolean }>;
  stat(digest: string): Promise<BlobInfo | undefined>;
  open(digest: string, range?: ByteRange): Promise<Readable>;
  read(digest: string): Promise<Buffer>;
  delete(digest: string): Promise<boolean>;
  list(): AsyncIterable<BlobInfo>;
  /** Throws unless a blob could be written now (a probe written and removed; for readiness). */
  checkWritable(): Promise<void>;
}
