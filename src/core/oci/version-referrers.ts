import type { CoreDeps } from '../core-deps.js';
import type { PackageRecord, VersionRecord } from '../packages/package-repo.js';
import { parseManifest, type Descriptor } from './manifest.js';
import { ANNOTATION_CREATED, EMPTY_CONFIG_BYTES, EMPTY_CONFIG_DIGEST, OCI_EMPTY, OCI_MANIFEST } from './media-types.js';
import { packageArtifact } from './package-artifacts.js';
import type { RepositoryName } from './references.js';

/** A blob attached to a package version: a signature's bundle, say. */
export interface VersionReferrer {
  artifactType: string;
  layer: Buffer;
  annotations?: Record<string, string>;
}

/**
 * The manifest of an ordinary referrer of a package version: the empty config, the stored blob as its
 * one layer and the version's artifact as its subject, as a client pushing it through `/v2/` would.
 */
export const versionReferrerManifest = (pkg: PackageRecord, version: VersionRecord, referrer: VersionReferrer, stored: { digest: string; size: number }, now: string): Buffer => {
  const subject = packageArtifact(pkg, version);
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: referrer.artifactType,
    config: { mediaType: OCI_EMPTY, digest: EMPTY_CONFIG_DIGEST, size: EMPTY_CONFIG_BYTES.length },
    layers: [{ mediaType: referrer.artifactType, digest: stored.digest, size: stored.size }],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.bytes.length },
    annotations: { [ANNOTATION_CREATED]: now, ...referrer.annotations },
  };
  return Buffer.from(JSON.stringify(manifest));
};

/**
 * The layers of a version's referrers of one artifact type (signatures: their bundles), newest
 * first, each with its referrer's digest. The caller has checked that the version may be read.
 */
export const versionReferrerLayers = async (
  deps: Pick<CoreDeps, 'storage' | 'blobs'>,
  repo: RepositoryName,
  pkg: PackageRecord,
  version: VersionRecord,
  artifactType: string,
  maxBytes: number,
): Promise<Array<{ digest: string; layer: Buffer }>> => {
  const records = (await deps.storage.oci.referrers(repo.name, packageArtifact(pkg, version).digest)).filter((r) => r.artifactType === artifactType);
  const out: Array<{ digest: string; layer: Buffer }> = [];
  for (const r of records.sort((a, b) => b.createdAt.localeCompare(a.createdAt))) {
    const bytes = await deps.blobs.read(r.digest).catch(() => undefined);
    let layer: Descriptor | undefined;
    try {
      layer = bytes && parseManifest(bytes, r.mediaType).layers[0];
    } catch {
      layer = undefined;
    }
    if (!layer || layer.size > maxBytes) continue;
    const content = await deps.blobs.read(layer.digest).catch(() => undefined);
    if (content) out.push({ digest: r.digest, layer: content });
  }
  return out;
};
