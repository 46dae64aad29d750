/** The OCI image-spec shapes the client reads and writes (only the fields it uses or passes through). */

export type Annotations = Record<string, string>;

export interface Platform {
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
}

/** A content descriptor: what a manifest says about a blob or another manifest. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Annotations;
  artifactType?: string;
  urls?: string[];
  platform?: Platform;
  data?: string;
}

/** An image manifest; with `artifactType` (and usually the empty config) it is an artifact manifest. */
export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Annotations;
}

/** An image index: a list of manifests (one per platform, or the referrers of a subject). */
export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Annotations;
}

export type Manifest = ImageManifest | ImageIndex;

export const isIndex = (m: Manifest): m is ImageIndex => Array.isArray((m as ImageIndex).manifests);
