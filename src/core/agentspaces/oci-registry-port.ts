import type { AgentryError } from '../errors.js';

/**
 * What agentspace publish, pull, repositories and tags need from an OCI registry client. The core
 * defines it; the composition root wires the OCI client adapter in (with the egress policy for other
 * registries, and this server's own `/v2/` reached in-process).
 */

/** A reference as the client parsed it; the core reads these fields and hands it back unchanged otherwise. */
export interface OciRef {
  registry: { host: string };
  repository: string;
  tag?: string;
  digest?: string;
}

/** What the client logs in with (an Agentry token is the password for this server's /v2/). */
export type OciCredentials = { username: string; password: string } | { identityToken: string; username?: string };

/** A registry's refusal or failure, as the client reports it: a core error naming the registry. */
export interface OciRegistryError extends AgentryError {
  readonly registry: string;
  /** The registry's HTTP status (0 when no answer came). */
  readonly httpStatus: number;
}

export interface OciAnnotated {
  mediaType: string;
  annotations?: Record<string, string>;
}

export interface PulledOciArtifact {
  digest: string;
  artifactType?: string;
  manifest: { annotations?: Record<string, string> };
  layers: Array<{ descriptor: OciAnnotated; data?: Uint8Array }>;
}

export interface OciArtifactClient {
  pushArtifact(input: {
    ref: OciRef;
    artifactType: string;
    layers: Array<{ mediaType: string; data: string; title: string }>;
    annotations: Record<string, string>;
  }): Promise<{ reference: string; digest: string; mediaType: string; size: number }>;
  getManifest(ref: OciRef): Promise<{ bytes: Uint8Array; mediaType: string }>;
  putManifest(ref: OciRef, bytes: Uint8Array, mediaType: string): Promise<unknown>;
  /** Deletes by digest; answers the digest removed. */
  deleteManifest(ref: OciRef): Promise<string>;
  pullArtifact(ref: OciRef, opts: { maxInMemoryBytes: number }): Promise<PulledOciArtifact>;
  /** The registry a `host[:port]` or URL names. */
  registry(raw: string): { host: string };
  listRepositories(registry: { host: string }): Promise<string[]>;
  listTags(ref: OciRef): Promise<string[]>;
}

export interface OciClientOptions {
  retry: { retries: number; baseDelayMs: number; maxDelayMs: number };
  credentials: (host: string) => Promise<OciCredentials | undefined>;
}

export interface OciRegistryPort {
  client(opts: OciClientOptions): OciArtifactClient;
  parseReference(raw: string, opts?: { allowBare?: boolean }): OciRef;
  formatReference(ref: OciRef): string;
  isRepositoryName(name: string): boolean;
  isTag(tag: string): boolean;
  isRegistryError(e: unknown): e is OciRegistryError;
}
