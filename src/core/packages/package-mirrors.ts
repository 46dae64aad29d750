import type { RequestContext } from '../auth/principal.js';
import type { PackageRecord, VersionRecord } from './package-repo.js';

/**
 * What package reads and writes ask of pull-through mirrors (core/mirrors/agentry-mirror.ts, set
 * once by the Registry when Agentry upstreams are offered): a port, so packages need not know them.
 */
export interface PackageMirrors {
  /**
   * Looks a package this registry does not have up on the upstreams whose objects `ctx` may read
   * (the one read rule on each mirror's visibility: nobody makes a mirror use its login for a caller
   * who could not read the answer) and stores it; true when it now has it. `ctx.mirrorVia`: the
   * servers the lookup passed through.
   */
  fetchMissing(scope: string, name: string, ctx: RequestContext): Promise<boolean>;
  /**
   * For a package taken from an upstream: asks the upstream again once the mirror's TTL has passed
   * (or at once with `force`: a version asked for is not here), keeping what was served when the
   * upstream cannot answer; not for a caller who may not read the mirror's objects. Undefined for a
   * package of this registry's own.
   */
  refresh(pkg: PackageRecord, force: boolean, ctx: RequestContext | undefined): Promise<{ upstream: string; changed: boolean } | undefined>;
  /** For a version taken from an upstream: copies the signatures attached there since (asked at most once a TTL). */
  refreshSignatures(pkg: PackageRecord, version: VersionRecord, via?: readonly string[]): Promise<void>;
  /** Whether the scope (which holds packages) is taken from an upstream. */
  isMirrored(scope: string): Promise<boolean>;
  /** The upstream URL of each of these scopes (which hold packages) that is taken from one, by lower-case scope. */
  upstreamsOf(scopes: readonly string[]): Promise<Map<string, string>>;
  /** Throws (409) when the scope is taken from an upstream: what is in it is read-only here. */
  refuseWrites(scope: string): Promise<void>;
}
