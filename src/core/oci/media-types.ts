import type { PackageKind } from '../packages/kinds.js';

/** The OCI and Docker media types the registry understands, and Agentry's own. */
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';

/** Manifest media types accepted on push: image manifests and indexes, OCI and Docker schema 2. */
export const MANIFEST_MEDIA_TYPES: readonly string[] = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST];
export const INDEX_MEDIA_TYPES: readonly string[] = [OCI_INDEX, DOCKER_MANIFEST_LIST];

/** The empty JSON object `{}`: the config of artifacts that have none. */
export const EMPTY_CONFIG_BYTES = Buffer.from('{}');
export const EMPTY_CONFIG_DIGEST = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';

/** The layer holding an Agentry package tarball (`.tar.gz` with its manifest at the root). */
export const AGENTRY_PACKAGE_LAYER = 'application/vnd.agentry.package.layer.v1.tar+gzip';

/** `artifactType` of a package of each kind: `application/vnd.agentry.<kind>.v1`. */
export const artifactTypeOf = (kind: PackageKind): string => `application/vnd.agentry.${kind}.v1`;

/** The kind an Agentry `artifactType` names, if it names one. */
export const kindOfArtifactType = (artifactType: string | undefined): string | undefined => (artifactType ? /^application\/vnd\.agentry\.([a-z-]+)\.v1$/.exec(artifactType)?.[1] : undefined);

/** Annotation keys of the image spec that Agentry writes and reads. */
export const ANNOTATION_TITLE = 'org.opencontainers.image.title';
export const ANNOTATION_VERSION = 'org.opencontainers.image.version';
export const ANNOTATION_DESCRIPTION = 'org.opencontainers.image.description';
export const ANNOTATION_CREATED = 'org.opencontainers.image.created';
