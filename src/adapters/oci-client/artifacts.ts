import { lstat, mkdir } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { badRequest, conflict } from '../../core/errors.js';
import { digestToTag } from './digest.js';
import { ANNOTATION_TITLE, DEFAULT_LAYER_TYPE, EMPTY_CONFIG_BYTES, EMPTY_CONFIG_DIGEST, isIndexType, OCI_EMPTY, OCI_INDEX, OCI_MANIFEST } from './media-types.js';
import type { BlobSource, OciClient, PushedBlob } from './oci-client.js';
import { describeBlob } from './oci-client.js';
import { integrityError } from './oci-client-error.js';
import { formatReference, type OciReference } from './reference.js';
import { mapPool } from './pool.js';
import type { Annotations, Descriptor, ImageIndex, ImageManifest, Manifest } from './types.js';

/** One layer of an artifact: bytes in memory or a file, with its media type and annotations. */
export interface ArtifactLayer {
  /** Default `application/vnd.oci.image.layer.v1.tar` (what oras uses for plain files). */
  mediaType?: string;
  /** The bytes (a string is sent as UTF-8)… */
  data?: Uint8Array | string;
  /** …or a file, streamed from disk (never read whole). */
  path?: string;
  /** The digest and size when already known (else computed: a file is hashed by streaming it). The registry checks them. */
  digest?: string;
  size?: number;
  /** The file name, stored as `org.opencontainers.image.title`; defaults to the file's base name for `path` layers. */
  title?: string;
  annotations?: Annotations;
}

/** Bytes moved for one blob: `bytes` is a delta (negative when a failed try is undone). */
export interface TransferProgress {
  digest: string;
  size: number;
  bytes: number;
  title?: string;
}

/** What a transfer is about to move, once digests are known. */
export interface TransferPlan {
  blobs: { digest: string; size: number; title?: string }[];
  totalBytes: number;
}

export interface PushArtifactInput {
  /** `registry/repository:tag` (or without a tag: pushed by digest only). */
  ref: string | OciReference;
  /** The artifact's type, e.g. `application/vnd.alquimia.registry.v1`. Required with the empty config. */
  artifactType?: string;
  /** A config blob; default the empty config `{}` (`application/vnd.oci.empty.v1+json`). */
  config?: { mediaType: string; data: Uint8Array | string };
  layers: ArtifactLayer[];
  /** Manifest annotations. */
  annotations?: Annotations;
  /** Makes this artifact a referrer of another manifest (a signature, an SBOM). */
  subject?: Descriptor;
  /** A repository of the same registry to mount blobs from instead of uploading them. */
  mountFrom?: string;
  onPlan?: (plan: TransferPlan) => void;
  onProgress?: (p: TransferProgress) => void;
}

export interface PushedArtifact {
  /** `host/repository[:tag]@sha256:…` */
  reference: string;
  digest: string;
  mediaType: string;
  size: number;
  manifest: Manifest;
  /** The config and every layer, with what happened to each (exists, mounted, uploaded). */
  blobs: PushedBlob[];
}

export interface PushIndexInput {
  ref: string | OciReference;
  /** Descriptors of manifests already in the repository (from pushArtifact or resolve). */
  manifests: Descriptor[];
  artifactType?: string;
  annotations?: Annotations;
  subject?: Descriptor;
}

export interface PullArtifactOptions {
  /** Write each layer as a file in this folder (named by its title annotation, else `sha256-<hex>`) instead of keeping it in memory. */
  dir?: string;
  /** Without `dir`, refuse artifacts whose layers add up to more than this (default 256 MiB). */
  maxInMemoryBytes?: number;
  onPlan?: (plan: TransferPlan) => void;
  onProgress?: (p: TransferProgress) => void;
}

export interface PulledLayer {
  descriptor: Descriptor;
  /** The title annotation, if any. */
  title?: string;
  /** The bytes, when pulled into memory. */
  data?: Uint8Array;
  /** The file written, when pulled into a folder. */
  path?: string;
}

export interface PulledArtifact {
  reference: string;
  digest: string;
  mediaType: string;
  /** The manifest bytes exactly as the registry sent them (verified). */
  manifestBytes: Uint8Array;
  manifest: ImageManifest;
  artifactType?: string;
  config: { descriptor: Descriptor; data: Uint8Array };
  layers: PulledLayer[];
}

const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

const checkMediaType = (value: string, what: string): void => {
  if (!MEDIA_TYPE.test(value)) throw badRequest(`${what} '${value}' is not a media type (type/subtype, e.g. application/vnd.example.v1)`);
};

const checkAnnotations = (a: Annotations | undefined, what: string): void => {
  if (a === undefined) return;
  for (const [k, v] of Object.entries(a)) {
    if (!k || typeof v !== 'string') throw badRequest(`${what}: annotation '${k}' must have a string value`);
  }
};

const bytesOf = (data: Uint8Array | string): Uint8Array => (typeof data === 'string' ? new TextEncoder().encode(data) : data);

/**
 * A layer title as a path inside the pull folder: relative, `/`-separated, no `..`, no empty or
 * dot segments, no backslashes or NULs. Anything else is refused (a hostile artifact must not write
 * outside the folder).
 */
export const safeTitlePath = (title: string): string => {
  const segments = title.split('/');
  if (!title || title.startsWith('/') || /[\\\0]/.test(title) || segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw badRequest(`refusing the layer title '${title}': not a plain relative file path`);
  }
  return segments.join(sep);
};

export const pushArtifact = async (client: OciClient, input: PushArtifactInput): Promise<PushedArtifact> => {
  const ref = client.ref(input.ref, { allowBare: true });
  if (ref.digest) throw badRequest(`push to a tag, or to a bare repository: ${formatReference(ref)} names a digest`);
  if (input.artifactType !== undefined) checkMediaType(input.artifactType, 'artifactType');
  if (!input.config && !input.artifactType) throw badRequest('an artifact with the empty config needs an artifactType');
  if (input.config) checkMediaType(input.config.mediaType, 'config mediaType');
  checkAnnotations(input.annotations, 'manifest');
  if (!Array.isArray(input.layers)) throw badRequest('layers must be a list');

  const sources: { source: BlobSource; descriptor: Descriptor; title?: string }[] = [];
  for (const [i, layer] of input.layers.entries()) {
    const mediaType = layer.mediaType ?? DEFAULT_LAYER_TYPE;
    checkMediaType(mediaType, `layer ${i + 1} mediaType`);
    checkAnnotations(layer.annotations, `layer ${i + 1}`);
    if ((layer.data === undefined) === (layer.path === undefined)) throw badRequest(`layer ${i + 1} needs exactly one of data and path`);
    const known = layer.digest !== undefined && layer.size !== undefined ? { digest: layer.digest, size: layer.size } : {};
    const source: BlobSource = layer.path !== undefined ? { path: layer.path, ...known } : { data: bytesOf(layer.data as Uint8Array | string), ...known };
    const { digest, size } = await describeBlob(source);
    const title = layer.title ?? layer.annotations?.[ANNOTATION_TITLE] ?? (layer.path !== undefined ? basename(layer.path) : undefined);
    const annotations = { ...layer.annotations, ...(title ? { [ANNOTATION_TITLE]: title } : {}) };
    sources.push({ source: { ...source, digest, size }, descriptor: { mediaType, digest, size, ...(Object.keys(annotations).length ? { annotations } : {}) }, ...(title ? { title } : {}) });
  }
  const configBytes = input.config ? bytesOf(input.config.data) : EMPTY_CONFIG_BYTES;
  const configSource: BlobSource = { data: configBytes };
  const configDesc = await describeBlob(configSource);
  const config: Descriptor = { mediaType: input.config?.mediaType ?? OCI_EMPTY, digest: configDesc.digest, size: configDesc.size };

  // The config first, then the layers; the same digest is sent once.
  const unique = new Map<string, { source: BlobSource; title?: string }>();
  unique.set(config.digest, { source: { ...configSource, ...configDesc } });
  for (const s of sources) if (!unique.has(s.descriptor.digest)) unique.set(s.descriptor.digest, { source: s.source, ...(s.title ? { title: s.title } : {}) });
  const plan: TransferPlan = { blobs: [...unique.entries()].map(([digest, u]) => ({ digest, size: u.source.size ?? 0, ...(u.title ? { title: u.title } : {}) })), totalBytes: 0 };
  plan.totalBytes = plan.blobs.reduce((n, b) => n + b.size, 0);
  input.onPlan?.(plan);

  const blobs = await mapPool([...unique.entries()], client.concurrency, ([digest, u]) =>
    client.pushBlob(ref, u.source, {
      ...(input.mountFrom ? { mountFrom: input.mountFrom } : {}),
      onBytes: (bytes) => input.onProgress?.({ digest, size: u.source.size ?? 0, bytes, ...(u.title ? { title: u.title } : {}) }),
    }),
  );

  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    ...(input.artifactType ? { artifactType: input.artifactType } : {}),
    config,
    layers: sources.map((s) => s.descriptor),
    ...(input.subject ? { subject: input.subject } : {}),
    ...(input.annotations && Object.keys(input.annotations).length ? { annotations: input.annotations } : {}),
  };
  const pushed = await client.putManifest(ref, manifest, OCI_MANIFEST);
  return { reference: `${formatReference({ ...ref, digest: undefined })}@${pushed.digest}`, digest: pushed.digest, mediaType: OCI_MANIFEST, size: pushed.size, manifest, blobs };
};

export const pushIndex = async (client: OciClient, input: PushIndexInput): Promise<PushedArtifact> => {
  const ref = client.ref(input.ref, { allowBare: true });
  if (ref.digest) throw badRequest(`push to a tag, or to a bare repository: ${formatReference(ref)} names a digest`);
  if (input.artifactType !== undefined) checkMediaType(input.artifactType, 'artifactType');
  checkAnnotations(input.annotations, 'index');
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    ...(input.artifactType ? { artifactType: input.artifactType } : {}),
    manifests: input.manifests,
    ...(input.subject ? { subject: input.subject } : {}),
    ...(input.annotations && Object.keys(input.annotations).length ? { annotations: input.annotations } : {}),
  };
  const pushed = await client.putManifest(ref, index, OCI_INDEX);
  return { reference: `${formatReference({ ...ref, digest: undefined })}@${pushed.digest}`, digest: pushed.digest, mediaType: OCI_INDEX, size: pushed.size, manifest: index, blobs: [] };
};

export const pullArtifact = async (client: OciClient, raw: string | OciReference, opts: PullArtifactOptions = {}): Promise<PulledArtifact> => {
  const ref = client.ref(raw);
  // Layers go to files: the thread that writes them boots while the manifest is fetched.
  if (opts.dir !== undefined) client.prepareFileDownloads();
  const fetched = await client.getManifest(ref);
  const ctx = { registry: ref.registry.host, repository: ref.repository, operation: `pull ${formatReference(ref)}` };
  if (isIndexType(fetched.mediaType) || Array.isArray((fetched.manifest as ImageIndex).manifests)) {
    const children = ((fetched.manifest as ImageIndex).manifests ?? []).map((m) => m.digest);
    throw badRequest(`${formatReference(ref)} is an image index, not an artifact: pull one of its manifests by digest`, children);
  }
  const manifest = fetched.manifest as ImageManifest;
  if (!manifest.config || !Array.isArray(manifest.layers)) throw integrityError(ctx, 'the manifest has no config or no layers list');
  for (const d of [manifest.config, ...manifest.layers]) {
    if (typeof d?.digest !== 'string' || typeof d.size !== 'number' || typeof d.mediaType !== 'string') throw integrityError(ctx, 'the manifest has a malformed descriptor');
  }

  const titled = manifest.layers.map((d) => ({ descriptor: d, title: d.annotations?.[ANNOTATION_TITLE] }));
  let targets: (string | undefined)[] = titled.map(() => undefined);
  if (opts.dir !== undefined) {
    const root = resolve(opts.dir);
    targets = titled.map(({ descriptor, title }) => join(root, title !== undefined ? safeTitlePath(title) : digestToTag(descriptor.digest)));
    const dup = targets.find((t, i) => targets.indexOf(t) !== i);
    if (dup) throw badRequest(`${formatReference(ref)} has two layers that would both be written to ${dup}`);
    for (const t of targets) {
      const exists = await lstat(t as string).then(
        () => true,
        () => false,
      );
      if (exists) throw conflict(`refusing to overwrite ${t}: it already exists`);
    }
  } else {
    const total = manifest.layers.reduce((n, d) => n + d.size, 0);
    const max = opts.maxInMemoryBytes ?? 256 * 1024 * 1024;
    if (total > max) throw badRequest(`${formatReference(ref)} is ${total} bytes, more than the ${max} allowed in memory: pull it into a folder`);
  }
  opts.onPlan?.({
    blobs: titled.map(({ descriptor, title }) => ({ digest: descriptor.digest, size: descriptor.size, ...(title ? { title } : {}) })),
    totalBytes: manifest.layers.reduce((n, d) => n + d.size, 0),
  });

  let configData: Uint8Array;
  if (manifest.config.digest === EMPTY_CONFIG_DIGEST && manifest.config.size === EMPTY_CONFIG_BYTES.length) configData = EMPTY_CONFIG_BYTES;
  else {
    if (manifest.config.size > MAX_CONFIG_BYTES) throw integrityError(ctx, `the config blob is ${manifest.config.size} bytes, over the ${MAX_CONFIG_BYTES}-byte limit`);
    configData = (await client.fetchBlob(ref, manifest.config)) as Uint8Array;
  }

  const layers = await mapPool(titled, client.concurrency, async ({ descriptor, title }, i): Promise<PulledLayer> => {
    const onBytes = (bytes: number) => opts.onProgress?.({ digest: descriptor.digest, size: descriptor.size, bytes, ...(title ? { title } : {}) });
    const target = targets[i];
    if (target) {
      await mkdir(dirname(target), { recursive: true });
      await client.fetchBlob(ref, descriptor, { toPath: target, onBytes });
      return { descriptor, ...(title !== undefined ? { title } : {}), path: target };
    }
    const data = (await client.fetchBlob(ref, descriptor, { onBytes })) as Uint8Array;
    return { descriptor, ...(title !== undefined ? { title } : {}), data };
  });

  return {
    reference: `${formatReference({ ...ref, digest: undefined })}@${fetched.digest}`,
    digest: fetched.digest,
    mediaType: fetched.mediaType,
    manifestBytes: fetched.bytes,
    manifest,
    ...(manifest.artifactType ? { artifactType: manifest.artifactType } : manifest.config.mediaType !== OCI_EMPTY ? { artifactType: manifest.config.mediaType } : {}),
    config: { descriptor: manifest.config, data: configData },
    layers,
  };
};
