import type { PackageRecord, VersionRecord } from '../packages/package-repo.js';
import { sha256Of, type Descriptor } from './manifest.js';
import {
  AGENTRY_PACKAGE_LAYER,
  ANNOTATION_CREATED,
  ANNOTATION_DESCRIPTION,
  ANNOTATION_TITLE,
  ANNOTATION_VERSION,
  EMPTY_CONFIG_BYTES,
  EMPTY_CONFIG_DIGEST,
  OCI_EMPTY,
  OCI_MANIFEST,
  artifactTypeOf,
} from './media-types.js';

/** A package version seen as an OCI artifact: its manifest bytes and their digest. */
export interface PackageArtifact {
  digest: string;
  bytes: Buffer;
  mediaType: string;
  artifactType: string;
}

/** The file name of a version's tarball, carried in the layer's `org.opencontainers.image.title`. */
export const tarballFileName = (name: string, version: string): string => `${name}-${version}.tgz`;

/**
 * The artifact manifest of a published version: artifactType `application/vnd.agentry.<kind>.v1`,
 * the empty config, and one layer, the package tarball (`application/vnd.agentry.package.layer.v1.tar+gzip`).
 * Built only from what never changes in a version, so its digest is stable.
 */
export const packageArtifact = (pkg: PackageRecord, v: VersionRecord): PackageArtifact => {
  const description = typeof v.manifest.description === 'string' ? v.manifest.description : undefined;
  const layer: Descriptor = {
    mediaType: AGENTRY_PACKAGE_LAYER,
    digest: v.digest,
    size: v.size,
    annotations: { [ANNOTATION_TITLE]: tarballFileName(pkg.name, v.version) },
  };
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: artifactTypeOf(pkg.kind),
    config: { mediaType: OCI_EMPTY, digest: EMPTY_CONFIG_DIGEST, size: EMPTY_CONFIG_BYTES.length },
    layers: [layer],
    annotations: {
      [ANNOTATION_CREATED]: v.publishedAt,
      ...(description ? { [ANNOTATION_DESCRIPTION]: description } : {}),
      [ANNOTATION_VERSION]: v.version,
    },
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  return { digest: sha256Of(bytes), bytes, mediaType: OCI_MANIFEST, artifactType: artifactTypeOf(pkg.kind) };
};
