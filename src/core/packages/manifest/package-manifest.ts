import type { PackageKind } from '../kinds.js';

/** What the core needs from any kind's manifest, after validation. */
export interface PackageManifest {
  kind: PackageKind;
  /** The manifest's file name inside the tarball. */
  file: string;
  name: string;
  /** The scope the manifest itself declares (agent `author`, MCP name prefix), if any. */
  scope: string | null;
  /** Absent only for skills whose SKILL.md carries no `metadata.version`. */
  version: string | null;
  description: string | null;
  category: string | null;
  tags: string[];
  license: string | null;
  repository: string | null;
  homepage: string | null;
  /** A readme carried by the manifest itself (the body of SKILL.md). */
  readme: string | null;
  /** The parsed manifest as published, kept with the version. */
  raw: Record<string, unknown>;
}

export interface ManifestResult {
  manifest?: PackageManifest;
  problems: string[];
}
