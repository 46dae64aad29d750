import { createHash } from 'node:crypto';
import { DOCKER_MANIFEST, INDEX_MEDIA_TYPES, MANIFEST_MEDIA_TYPES, OCI_INDEX, OCI_MANIFEST } from './media-types.js';
import { ociError } from './oci-errors.js';
import { isSha256 } from './references.js';

/** A content descriptor (image-spec descriptor.md). */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** What the registry needs to know of a pushed manifest, read from its bytes. */
export interface ParsedManifest {
  digest: string;
  mediaType: string;
  /** `artifactType`, else (for image manifests) the config's media type. */
  artifactType: string | null;
  /** Blobs it needs: config and layers (image manifests). */
  blobs: Descriptor[];
  /** Manifests it needs (indexes). */
  manifests: Descriptor[];
  subject: Descriptor | null;
  annotations: Record<string, string> | null;
  /** The layers of an image manifest, in order (empty for an index). */
  layers: Descriptor[];
  config: Descriptor | null;
}

/** Largest manifest accepted: the spec asks registries to take at least 4 MiB. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

export const sha256Of = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const invalid = (problem: string) => ociError('MANIFEST_INVALID', `Invalid manifest: ${problem}`, { problem });

const annotationsAt = (v: unknown, where: string): Record<string, string> | undefined => {
  if (v === undefined) return undefined;
  if (!isObject(v) || !Object.values(v).every((x) => typeof x === 'string')) throw invalid(`${where}.annotations must be an object of strings`);
  return v as Record<string, string>;
};

const descriptorAt = (v: unknown, where: string): Descriptor => {
  if (!isObject(v)) throw invalid(`${where} must be a descriptor object`);
  const { mediaType, digest, size, artifactType } = v;
  if (typeof mediaType !== 'string' || !MEDIA_TYPE.test(mediaType)) throw invalid(`${where}.mediaType must be a media type`);
  if (typeof digest !== 'string' || !isSha256(digest)) throw invalid(`${where}.digest must be a sha256 digest (sha256:<64 hex>)`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw invalid(`${where}.size must be a whole number of bytes`);
  if (artifactType !== undefined && (typeof artifactType !== 'string' || !MEDIA_TYPE.test(artifactType))) throw invalid(`${where}.artifactType must be a media type`);
  const annotations = annotationsAt(v.annotations, where);
  return { mediaType, digest, size, ...(artifactType ? { artifactType } : {}), ...(annotations ? { annotations } : {}) };
};

/**
 * Validates a manifest pushed with `Content-Type: contentType` and returns what it references.
 * Image manifests (OCI, Docker schema 2, artifacts with `artifactType`) and image indexes
 * (OCI, Docker manifest lists) are accepted; anything else is MANIFEST_INVALID.
 */
export const parseManifest = (bytes: Buffer, contentType: string | undefined): ParsedManifest => {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw invalid(`not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(doc)) throw invalid('a manifest is a JSON object');
  if (doc.schemaVersion !== 2) throw invalid('schemaVersion must be 2');
  const declared = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  if (doc.mediaType !== undefined && declared === undefined) throw invalid('mediaType must be a string');
  const sent = contentType?.split(';')[0].trim().toLowerCase() || undefined;
  if (declared && sent && declared !== sent) throw invalid(`mediaType '${declared}' differs from Content-Type '${sent}'`);
  const mediaType = declared ?? sent ?? (Array.isArray(doc.manifests) ? OCI_INDEX : OCI_MANIFEST);
  if (!MANIFEST_MEDIA_TYPES.includes(mediaType)) {
    throw invalid(`unsupported manifest media type '${mediaType}' (accepted: ${MANIFEST_MEDIA_TYPES.join(', ')})`);
  }
  const artifactTypeField = doc.artifactType;
  if (artifactTypeField !== undefined && (typeof artifactTypeField !== 'string' || !MEDIA_TYPE.test(artifactTypeField))) {
    throw invalid('artifactType must be a media type');
  }
  const subject = doc.subject === undefined ? null : descriptorAt(doc.subject, 'subject');
  const annotations = annotationsAt(doc.annotations, 'manifest') ?? null;
  const digest = sha256Of(bytes);

  if (INDEX_MEDIA_TYPES.includes(mediaType)) {
    if (!Array.isArray(doc.manifests)) throw invalid('an index needs a manifests array');
    const manifests = doc.manifests.map((m, i) => descriptorAt(m, `manifests[${i}]`));
    return { digest, mediaType, artifactType: (artifactTypeField as string | undefined) ?? null, blobs: [], manifests, subject, annotations, layers: [], config: null };
  }
  if (doc.config === undefined) throw invalid('an image manifest needs a config descriptor');
  const config = descriptorAt(doc.config, 'config');
  if (!Array.isArray(doc.layers)) throw invalid('an image manifest needs a layers array');
  const layers = doc.layers.map((l, i) => descriptorAt(l, `layers[${i}]`));
  if (mediaType === DOCKER_MANIFEST && artifactTypeField !== undefined) throw invalid('a Docker schema 2 manifest has no artifactType');
  const artifactType = (artifactTypeField as string | undefined) ?? config.mediaType;
  return { digest, mediaType, artifactType, blobs: [config, ...layers], manifests: [], subject, annotations, layers, config };
};
