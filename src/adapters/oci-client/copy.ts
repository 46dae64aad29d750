import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { badRequest } from '../../core/errors.js';
import type { TransferProgress } from './artifacts.js';
import { digestToTag } from './digest.js';
import type { OciClient, PushedBlob } from './oci-client.js';
import { mapPool } from './pool.js';
import { formatReference, type OciReference } from './reference.js';
import type { Descriptor, ImageIndex, ImageManifest } from './types.js';

export interface CopyOptions {
  onProgress?: (p: TransferProgress) => void;
}

export interface CopyResult {
  reference: string;
  digest: string;
  mediaType: string;
  /** Every manifest copied (an index's children first, then the index). */
  manifests: string[];
  blobs: PushedBlob[];
}

/**
 * Copies a manifest and everything under it to another reference, on the same registry or another:
 * an index's manifests first (by digest), each manifest's config and layers (skipped when the target
 * has them, mounted on the same registry, else pulled to a verified temp file and pushed from it),
 * then the manifest's exact bytes, so its digest is unchanged.
 */
export const copyArtifact = async (client: OciClient, rawFrom: string | OciReference, rawTo: string | OciReference, opts: CopyOptions = {}): Promise<CopyResult> => {
  const from = client.ref(rawFrom);
  const to = client.ref(rawTo, { allowBare: true });
  if (to.digest) throw badRequest(`copy to a tag or a bare repository: ${formatReference(to)} names a digest`);
  const temp = await mkdtemp(join(tmpdir(), 'agentry-oci-copy-'));
  const result: CopyResult = { reference: '', digest: '', mediaType: '', manifests: [], blobs: [] };
  try {
    const copyOne = async (src: OciReference, dst: OciReference, depth: number): Promise<Descriptor> => {
      const fetched = await client.getManifest(src);
      const m = fetched.manifest;
      if (Array.isArray((m as ImageIndex).manifests)) {
        if (depth > 4) throw badRequest(`${formatReference(from)}: indexes nested too deep`);
        for (const child of (m as ImageIndex).manifests) {
          await copyOne({ ...src, tag: undefined, digest: child.digest }, { ...dst, tag: undefined, digest: undefined }, depth + 1);
        }
      } else {
        const im = m as ImageManifest;
        const blobs = [im.config, ...(im.layers ?? [])].filter((d, i, all) => d && all.findIndex((x) => x.digest === d.digest) === i);
        const sameRegistry = src.registry.baseUrl === dst.registry.baseUrl;
        const pushed = await mapPool(blobs, client.concurrency, async (d) => {
          const report = (bytes: number) => opts.onProgress?.({ digest: d.digest, size: d.size, bytes });
          if (sameRegistry && src.repository === dst.repository) return { digest: d.digest, size: d.size, outcome: 'exists' as const };
          if ((await client.blobSize(dst, d.digest)) !== undefined) {
            report(d.size);
            return { digest: d.digest, size: d.size, outcome: 'exists' as const };
          }
          if (sameRegistry && (await client.mountBlob(dst, d.digest, src.repository))) {
            report(d.size);
            return { digest: d.digest, size: d.size, outcome: 'mounted' as const };
          }
          const file = join(temp, digestToTag(d.digest));
          // A staging file, pushed and removed at once: verified, not flushed to the disk.
          await client.fetchBlob(src, d, { toPath: file, sync: false });
          try {
            return await client.pushBlob(dst, { path: file, digest: d.digest, size: d.size }, { onBytes: report });
          } finally {
            await rm(file, { force: true });
          }
        });
        result.blobs.push(...pushed);
      }
      const target: OciReference = dst.tag ? dst : { ...dst, digest: undefined };
      const put = await client.putManifest(target.tag ? target : { ...target, digest: fetched.digest }, fetched.bytes, fetched.mediaType);
      result.manifests.push(put.digest);
      return put;
    };
    const top = await copyOne(from, to, 0);
    result.digest = top.digest;
    result.mediaType = top.mediaType;
    result.reference = `${formatReference({ ...to, digest: undefined })}@${top.digest}`;
    return result;
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
};
