import type { Readable } from 'node:stream';
import { VISIBILITIES, isVisibility, type Visibility } from '../access/visibility.js';
import { validationFailed } from '../errors.js';

/** What an upstream mirrors: an MCP registry (`/v0.1`), an OCI registry, or another Agentry. */
export type MirrorKind = 'mcp' | 'oci' | 'agentry';

export const MIRROR_KINDS: readonly MirrorKind[] = ['mcp', 'oci', 'agentry'];

/** One configured upstream. Its password lives in the secret store, never here. */
export interface MirrorRecord {
  name: string;
  kind: MirrorKind;
  /** The upstream's base URL (`https://registry-1.docker.io`, `https://registry.modelcontextprotocol.io`). */
  url: string;
  username: string | null;
  /** A password was given (it is kept in the secret store). */
  hasPassword: boolean;
  /** How long a tag (OCI) or a listing (MCP) is served from the cache before the upstream is asked again. */
  ttlSeconds: number;
  /**
   * Who may read what the mirror brings in here (its packages, OCI repositories and MCP servers), as
   * for any object, owned by the organisation {@link MIRROR_OWNER}: `public` anyone, `internal` every
   * signed-in account, `private` that organisation's members and administrators.
   */
  visibility: Visibility;
  createdAt: string;
}

/** The organisation owning what mirrors bring in (created with the first mirror; an administrator adds its members). */
export const MIRROR_OWNER = 'agentry-mirrors';

/** A tag of a mirrored repository: the digest it pointed at when the upstream was last asked. */
export interface MirrorTagRecord {
  mirror: string;
  repo: string;
  tag: string;
  digest: string;
  checkedAt: string;
}

/**
 * A listing of a mirrored repository as the upstream last answered it: its tags (`tags`), or the
 * digests of a manifest's referrers (`referrers:<digest>`), with when the upstream was asked.
 */
export interface MirrorListingRecord {
  mirror: string;
  repo: string;
  listing: string;
  items: string[];
  checkedAt: string;
}

/** Where upstreams and what they answered are kept (`src/storage/sql/mirror-store.ts`). */
export interface MirrorStore {
  list(): Promise<MirrorRecord[]>;
  find(name: string): Promise<MirrorRecord | undefined>;
  /** False when a mirror of that name exists. */
  insert(r: MirrorRecord): Promise<boolean>;
  /** Changes a mirror's settings; false when there is no such mirror. */
  update(name: string, change: Partial<Pick<MirrorRecord, 'visibility' | 'ttlSeconds'>>): Promise<boolean>;
  /** Removes the mirror and its cached tags; false when there was none. */
  delete(name: string): Promise<boolean>;
  findTag(mirror: string, repo: string, tag: string): Promise<MirrorTagRecord | undefined>;
  putTag(t: MirrorTagRecord): Promise<void>;
  deleteTag(mirror: string, repo: string, tag: string): Promise<void>;
  /** The claim on a scope (lower-case) by an Agentry mirror, if any. */
  findScope(scope: string): Promise<MirrorScopeRecord | undefined>;
  /** Claims a scope for a mirror; answers the claim that holds (an earlier one by another request wins). */
  claimScope(r: MirrorScopeRecord): Promise<MirrorScopeRecord>;
  /** When a mirrored package (its lower-case key) was last asked of its upstream; undefined: never. */
  packageCheckedAt(key: string): Promise<string | undefined>;
  markPackage(key: string, mirror: string, checkedAt: string): Promise<void>;
  /** Keys of the packages fetched through a mirror, in key order, after `afterKey`, at most `limit`. */
  packagesOf(mirror: string, afterKey: string | undefined, limit: number): Promise<string[]>;
  findListing(mirror: string, repo: string, listing: string): Promise<MirrorListingRecord | undefined>;
  putListing(l: MirrorListingRecord): Promise<void>;
}

/**
 * A scope taken from an Agentry upstream (the first time one of its packages was fetched): every
 * package in it is that upstream's, served read-only here. A scope of this registry's own is never one.
 */
export interface MirrorScopeRecord {
  /** lower-case */
  scope: string;
  mirror: string;
  /** The upstream's URL when the scope was claimed (shown as `mirror.upstream`, kept after the mirror is removed). */
  upstream: string;
  createdAt: string;
}

/** The upstream's base URL and login, as the adapters need them. */
export interface UpstreamEndpoint {
  url: string;
  credentials?: { username: string; password: string };
  /** The servers this lookup passed through, this one last: sent as `X-Agentry-Mirror-Via` (mirror-via.ts). */
  via?: readonly string[];
}

/** A manifest as the upstream sent it; the adapter checked its bytes against the digest asked for or announced. */
export interface UpstreamManifest {
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

/** A manifest the upstream names (a referrer): what its listing says of it. */
export interface UpstreamDescriptor {
  digest: string;
  mediaType: string;
  size: number;
  artifactType?: string;
}

/**
 * The port to upstream OCI registries (`adapters/mirrors/`, through the egress policy). Every answer is
 * verified against its digest before it is handed back; a refusal of the upstream (404) is `undefined`,
 * anything else (unreachable, 5xx, a digest that does not match) throws.
 */
export interface OciUpstream {
  /** The digest a tag points at now (HEAD), or undefined when the upstream has no such tag. */
  resolve(endpoint: UpstreamEndpoint, repository: string, tag: string): Promise<string | undefined>;
  manifest(endpoint: UpstreamEndpoint, repository: string, digest: string): Promise<UpstreamManifest | undefined>;
  /**
   * The manifests that refer to `digest`: from the upstream's referrers API, or, where it has none,
   * from the `sha256-<hex>` tag schema (distribution-spec v1.1). Empty when there are none.
   */
  referrers(endpoint: UpstreamEndpoint, repository: string, digest: string): Promise<UpstreamDescriptor[]>;
  /** A blob's bytes, verified against `digest` as they arrive (held aside until whole); undefined when absent. */
  blob(endpoint: UpstreamEndpoint, repository: string, digest: string): Promise<{ size: number; data: Readable } | undefined>;
  /** Every tag of a repository (`tags/list`, all pages; at most `limit` when given); undefined when the upstream has no such repository. */
  tags(endpoint: UpstreamEndpoint, repository: string, limit?: number): Promise<string[] | undefined>;
  /** Every repository of the upstream (`/v2/_catalog`, all pages); throws when it does not serve that optional API. */
  repositories(endpoint: UpstreamEndpoint): Promise<string[]>;
}

/** One version as an Agentry upstream lists it (`GET /api/v1/packages/:scope/:name/versions`). */
export interface UpstreamVersion {
  version: string;
  /** hex, as the upstream announces it: the tarball fetched must hash to it. */
  sha256: string;
  size: number;
  publishedAt: string | null;
  deprecated: string | null;
}

/** A package as an Agentry upstream describes it: its kind, dist-tags and live versions (newest first). */
export interface UpstreamPackage {
  /** As the upstream spells them (no `@`). */
  scope: string;
  name: string;
  kind: string;
  distTags: Record<string, string>;
  versions: UpstreamVersion[];
}

/** A page of an upstream's package list, in name order. */
export interface UpstreamPackagePage {
  packages: Array<{ scope: string; name: string; kind: string }>;
  /** How many there are in all; null when the upstream only estimates it. */
  total: number | null;
}

/**
 * The port to upstream Agentry (or agentx-compatible) registries (`adapters/mirrors/`, through the
 * egress policy, with the mirror's token): a 404 is `undefined`, anything else that goes wrong
 * (unreachable, 5xx, 401, an answer of the wrong shape, bytes that do not match their digest) throws.
 */
export interface AgentryUpstream {
  package(endpoint: UpstreamEndpoint, scope: string, name: string): Promise<UpstreamPackage | undefined>;
  /** A version's tarball, checked against the announced sha256 and size as it arrives; at most `maxBytes`. */
  tarball(endpoint: UpstreamEndpoint, version: UpstreamVersion, maxBytes: number): Promise<Buffer | undefined>;
  /** The Sigstore bundles attached to a version (as JSON bytes). */
  signatures(endpoint: UpstreamEndpoint, scope: string, name: string, version: string): Promise<Buffer[]>;
  /** One page (from 1) of the upstream's packages, optionally of one scope. */
  list(endpoint: UpstreamEndpoint, q: { scope?: string; page: number; limit: number }): Promise<UpstreamPackagePage>;
}

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** Mirror TTLs: one second to one year; five minutes by default. */
export const DEFAULT_MIRROR_TTL_SECONDS = 300;
const MAX_TTL_SECONDS = 365 * 24 * 3600;

export interface MirrorInput {
  kind: string;
  name: string;
  url: string;
  username?: string;
  password?: string;
  ttlSeconds?: number;
  /** Default: {@link defaultMirrorVisibility}. */
  visibility?: string;
}

/**
 * The visibility of a mirror given none. With a login the upstream may hand the mirror what it
 * serves to that login only (private or internal packages and images), so what it brings in is
 * `private` here until an administrator says otherwise; without one the upstream serves the mirror
 * only what it serves to anyone, so `public` is the upstream's own visibility.
 */
export const defaultMirrorVisibility = (input: Pick<MirrorInput, 'password'>): Visibility => (input.password !== undefined ? 'private' : 'public');

const visibilityProblem = (v: string | undefined): string[] =>
  v === undefined || isVisibility(v) ? [] : [`visibility must be one of ${VISIBILITIES.join(', ')} (got ${JSON.stringify(v.slice(0, 40))})`];

const ttlProblem = (ttl: number | undefined): string[] =>
  ttl === undefined || (Number.isSafeInteger(ttl) && ttl >= 1 && ttl <= MAX_TTL_SECONDS) ? [] : [`ttl must be a whole number of seconds from 1 to ${MAX_TTL_SECONDS}`];

/** What may change in a mirror once it exists (`PATCH /api/v1/mirrors/:name`). */
export interface MirrorChange {
  visibility?: string;
  ttlSeconds?: number;
}

/** Checks a change of a mirror's settings; answers it typed. */
export const checkMirrorChange = (change: MirrorChange): Partial<Pick<MirrorRecord, 'visibility' | 'ttlSeconds'>> => {
  const problems = [...visibilityProblem(change.visibility), ...ttlProblem(change.ttlSeconds)];
  if (change.visibility === undefined && change.ttlSeconds === undefined) problems.push('nothing to change: give visibility or ttl_seconds');
  if (problems.length > 0) throw validationFailed(problems, 'Invalid mirror change');
  return {
    ...(change.visibility !== undefined ? { visibility: change.visibility as Visibility } : {}),
    ...(change.ttlSeconds !== undefined ? { ttlSeconds: change.ttlSeconds } : {}),
  };
};

/** Checks a new mirror's fields; answers its normalised URL (no trailing slash). */
export const checkMirrorInput = (input: MirrorInput): string => {
  const problems: string[] = [];
  if (!MIRROR_KINDS.includes(input.kind as MirrorKind)) problems.push(`kind must be one of ${MIRROR_KINDS.join(', ')}`);
  if (!NAME.test(input.name)) problems.push(`name '${input.name.slice(0, 64)}' must be lower-case letters, digits and '-' (at most 63), starting with a letter or digit`);
  let url: URL | undefined;
  try {
    url = new URL(input.url);
  } catch {
    problems.push(`url '${input.url.slice(0, 200)}' is not a URL`);
  }
  if (url) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') problems.push('url must be http:// or https://');
    if (url.username || url.password) problems.push('url must not carry a login: pass --username and --password-env');
    if (url.search || url.hash) problems.push('url must not have a query or fragment');
    if (input.kind === 'oci' && url.pathname !== '/') problems.push('an OCI upstream is a registry host: its url has no path');
  }
  if ((input.password !== undefined) !== (input.username !== undefined)) problems.push('username and password go together');
  if (input.username !== undefined && (input.username.length === 0 || input.username.length > 256 || input.username.includes(':'))) problems.push('username must be 1-256 characters without ":"');
  problems.push(...ttlProblem(input.ttlSeconds), ...visibilityProblem(input.visibility));
  if (problems.length > 0) throw validationFailed(problems, 'Invalid mirror');
  return (url as URL).href.replace(/\/+$/, '');
};
