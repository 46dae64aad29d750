/** The media types of the OCI image and distribution specs (and Docker's v2 equivalents) the client knows. */

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

/** The empty config of an artifact manifest: the two bytes `{}`. */
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
export const EMPTY_CONFIG_BYTES: Uint8Array = new TextEncoder().encode('{}');
export const EMPTY_CONFIG_DIGEST = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';

/** The layer type of a plain file when the caller names none (as oras does). */
export const DEFAULT_LAYER_TYPE = 'application/vnd.oci.image.layer.v1.tar';

/** The annotation that carries a layer's file name. */
export const ANNOTATION_TITLE = 'org.opencontainers.image.title';
export const ANNOTATION_CREATED = 'org.opencontainers.image.created';

/** Every manifest type the client asks for and accepts on pull. */
export const MANIFEST_ACCEPT = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST];

export const isIndexType = (mediaType: string): boolean => mediaType === OCI_INDEX || mediaType === DOCKER_MANIFEST_LIST;
export const isManifestType = (mediaType: string): boolean => mediaType === OCI_MANIFEST || mediaType === DOCKER_MANIFEST;
