import type { RequestContext } from '../auth/principal.js';
import type { CoreDeps } from '../core-deps.js';
import { badGateway, conflict } from '../errors.js';
import { isPackageKind, type PackageKind } from '../packages/kinds.js';
import { fullName, packageKey, scopeProblem, packageNameProblem } from '../packages/names.js';
import type { PackageMirrors } from '../packages/package-mirrors.js';
import type { PackageRecord, VersionRecord } from '../packages/package-repo.js';
import type { PackageService } from '../packages/package-service.js';
import { isoNow } from '../time.js';
import type { AgentryUpstream, MirrorRecord, MirrorScopeRecord, UpstreamPackage } from './mirror.js';
import type { MirrorService } from './mirror-service.js';
import { MIRROR_OWNER } from './mirror.js';

/** What an Agentry upstream is asked for: agents, skills and recipes (MCP servers come from MCP upstreams). */
export const MIRRORED_KINDS: readonly PackageKind[] = ['agent', 'skill', 'recipe'];

/** Copies a signature of a fetched version (the SignatureService): `added`, `present` (copied before), or `refused` (not a package signature). */
export type SignatureCopier = (pkg: PackageRecord, version: VersionRecord, bundle: Buffer) => Promise<'added' | 'present' | 'refused'>;

/** The mirror listing recording when the upstream was last asked for a version's signatures (in `mirror_listings`, by package key). */
const signaturesListing = (version: string): string => `signatures:${version}`;

/** What fetching one package from its upstream did. */
export type FetchOutcome = 'added' | 'updated' | 'unchanged';

const CLAIM_CACHE_ENTRIES = 10_000;

/**
 * Agentry upstreams (Verdaccio's uplinks, local wins): a package this registry does not have is
 * looked up on the Agentry mirrors, under the same `@scope/name`, and stored here with its versions
 * (each tarball checked against the digest the upstream announced, stored once by content) and
 * their signatures. The first fetch from a scope that does not exist here creates it, owned by the
 * `agentry-mirrors` organisation, and binds it to that mirror: from then on every package of the
 * scope comes from that upstream only, and nothing can be published into it. A scope this registry
 * has of its own is never looked up. Dist-tags are asked again once the mirror's TTL has passed;
 * while the upstream cannot answer, what was fetched is served.
 */
export class AgentryMirror implements PackageMirrors {
  /** Claims on scopes are never taken back, and a scope with a package of its own is never claimed: both answers can be kept. */
  private readonly claims = new Map<string, MirrorScopeRecord | null>();
  /** Fetches under way, by package key: concurrent readers of one package wait for one fetch. */
  private readonly inflight = new Map<string, Promise<unknown>>();

  constructor(
    private readonly deps: CoreDeps,
    private readonly mirrors: MirrorService,
    private readonly upstream: AgentryUpstream,
    private readonly packages: PackageService,
    private readonly copySignature: SignatureCopier,
    private readonly maxTarballBytes: number,
  ) {}

  async fetchMissing(scope: string, name: string, ctx: RequestContext): Promise<boolean> {
    const via = ctx.mirrorVia;
    // A lookup that passed through this server already (mirrors mirroring each other) answers from here only.
    if (scopeProblem(scope) || packageNameProblem(name) || !this.mirrors.mayAskUpstreams(via)) return false;
    const key = packageKey(scope, name);
    const claim = await this.claimOf(scope);
    if (!claim && (await this.deps.storage.scopes.find(scope))) return false; // a scope of this registry's own
    // The mirrors whose objects this caller may read: a fetch under way is joined by callers who may read the same ones only.
    const readable: MirrorRecord[] = [];
    for (const m of await this.mirrors.store.list()) if (m.kind === 'agentry' && (await this.mirrors.mayRead(ctx, m))) readable.push(m);
    return this.once(`fetch:${key}:${readable.map((m) => m.name).join(',')}`, async () => {
      // A bound scope comes from its mirror only; another scope from the first mirror (by name) that has it.
      const candidates = claim ? readable.filter((m) => m.name === claim.mirror) : readable;
      let failure: unknown;
      for (const m of candidates) {
        let found: UpstreamPackage | undefined;
        try {
          found = await this.upstream.package(await this.mirrors.endpointOf(m, via), scope, name);
        } catch (e) {
          failure ??= e;
          continue;
        }
        if (!found || !isPackageKind(found.kind) || !MIRRORED_KINDS.includes(found.kind)) continue;
        if ((await this.store(m, found, { via })) !== undefined) return true;
      }
      // Not found anywhere, but an upstream could not be asked: that is not an answer.
      if (failure !== undefined) throw failure;
      return false;
    });
  }

  async isMirrored(scope: string): Promise<boolean> {
    return (await this.claimOf(scope, true)) !== undefined;
  }

  async refresh(pkg: PackageRecord, force: boolean, ctx: RequestContext | undefined): Promise<{ upstream: string; changed: boolean } | undefined> {
    const claim = await this.claimOf(pkg.scope, true);
    if (!claim) return undefined;
    const via = ctx?.mirrorVia;
    const m = await this.mirrors.ofKind(claim.mirror, 'agentry');
    if (!m || !this.mirrors.mayAskUpstreams(via) || (ctx && !(await this.mirrors.mayRead(ctx, m)))) return { upstream: claim.upstream, changed: false };
    const checked = await this.mirrors.store.packageCheckedAt(pkg.key);
    if (!force && checked !== undefined && this.deps.clock.now().getTime() - Date.parse(checked) < m.ttlSeconds * 1000) return { upstream: claim.upstream, changed: false };
    try {
      const outcome = await this.once(`refresh:${pkg.key}`, async () => {
        const found = await this.upstream.package(await this.mirrors.endpointOf(m, via), pkg.scope, pkg.name);
        // Gone upstream: what was fetched stays served (as a cache does), asked again after the TTL.
        if (!found || found.kind !== pkg.kind) {
          await this.mirrors.store.markPackage(pkg.key, m.name, isoNow(this.deps.clock));
          return 'unchanged';
        }
        return (await this.store(m, found, { via })) ?? 'unchanged';
      });
      return { upstream: claim.upstream, changed: outcome === 'added' || outcome === 'updated' };
    } catch {
      // The upstream is down or answers nonsense: what it said last is still served.
      return { upstream: claim.upstream, changed: false };
    }
  }

  async upstreamsOf(scopes: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const s of new Set(scopes.map((x) => x.toLowerCase()))) {
      const claim = await this.claimOf(s, true);
      if (claim) out.set(s, claim.upstream);
    }
    return out;
  }

  async refuseWrites(scope: string): Promise<void> {
    const claim = await this.mirrors.store.findScope(scope);
    if (claim) {
      throw conflict(`@${claim.scope} is mirrored from ${claim.upstream} (mirror ${claim.mirror}): its packages are read-only here; publish to the upstream`, {
        mirror: { name: claim.mirror, upstream: claim.upstream },
      });
    }
  }

  /**
   * The signatures of a version taken from an upstream, before they are listed here: the upstream
   * is asked again for them once the mirror's TTL has passed since it last was (as OCI mirrors do
   * for referrers), so a signature attached upstream after the version was fetched is copied. While
   * the upstream cannot answer, what was copied is listed.
   */
  async refreshSignatures(pkg: PackageRecord, version: VersionRecord, via?: readonly string[]): Promise<void> {
    const claim = await this.claimOf(pkg.scope, true);
    const m = claim && (await this.mirrors.ofKind(claim.mirror, 'agentry'));
    if (!m || !this.mirrors.mayAskUpstreams(via)) return;
    const listed = await this.mirrors.store.findListing(m.name, pkg.key, signaturesListing(version.version));
    if (listed && this.deps.clock.now().getTime() - Date.parse(listed.checkedAt) < m.ttlSeconds * 1000) return;
    await this.once(`signatures:${pkg.key}@${version.version}`, () => this.copySignatures(m, pkg, version, { via })).catch(() => undefined);
  }

  /**
   * Fetches one package from mirror `m` now, whatever its TTL (a sync job): its versions that are
   * not here, the signatures of every version (those attached upstream since are copied), its dist-tags. Undefined when the upstream has no such package of a
   * mirrored kind, or its scope is this registry's own or another mirror's.
   */
  async sync(m: MirrorRecord, scope: string, name: string): Promise<FetchOutcome | undefined> {
    const key = packageKey(scope, name);
    return this.once(`refresh:${key}`, async () => {
      const claim = await this.claimOf(scope);
      if (claim ? claim.mirror !== m.name : await this.deps.storage.scopes.find(scope)) return undefined;
      const found = await this.upstream.package(await this.mirrors.endpointOf(m), scope, name);
      if (!found || !isPackageKind(found.kind) || !MIRRORED_KINDS.includes(found.kind)) return undefined;
      return this.store(m, found, { signaturesOfAll: true });
    });
  }

  /**
   * Gives every package fetched through mirror `m` (and the default of the scopes it holds) the
   * mirror's visibility, now that it changed: what a mirror brought in is never readable by more than
   * the mirror says, not even until each package's next refresh.
   */
  async applyVisibility(m: MirrorRecord): Promise<void> {
    let after: string | undefined;
    const scopes = new Set<string>();
    for (;;) {
      const keys = await this.mirrors.store.packagesOf(m.name, after, 500);
      for (const key of keys) {
        await this.packages.mirroring.applyMirrorVisibility(key, m.visibility);
        scopes.add(key.slice(0, key.indexOf('/')));
      }
      if (keys.length < 500) break;
      after = keys[keys.length - 1];
    }
    for (const scope of scopes) if ((await this.claimOf(scope))?.mirror === m.name) await this.deps.storage.scopes.setDefaultVisibility(scope, m.visibility);
  }

  /** The packages fetched through mirror `m`, in key order, after `afterKey`. */
  fetchedThrough(m: MirrorRecord, afterKey: string | undefined, limit: number): Promise<string[]> {
    return this.mirrors.store.packagesOf(m.name, afterKey, limit);
  }

  /** Asks the upstream's package list (for a sync job). */
  async listUpstream(m: MirrorRecord, q: { scope?: string; page: number; limit: number }) {
    return this.upstream.list(await this.mirrors.endpointOf(m), q);
  }

  /**
   * Stores what the upstream said of a package: the versions that are not here (tarball checked,
   * signatures copied), then its dist-tags and deprecations. Undefined when its scope is not this
   * mirror's to fill.
   */
  private async store(m: MirrorRecord, found: UpstreamPackage, opts: { via?: readonly string[]; signaturesOfAll?: boolean }): Promise<FetchOutcome | undefined> {
    const kind = found.kind as PackageKind;
    if (!(await this.claim(m, found.scope))) return undefined;
    const key = packageKey(found.scope, found.name);
    const endpoint = await this.mirrors.endpointOf(m, opts.via);
    const existing = await this.deps.storage.packages.findByKey(key);
    const here = new Set(existing ? (await this.deps.storage.packages.listVersions(existing.id, true)).map((v) => v.version) : []);
    let added = 0;
    // Oldest first, so the versions are here in the order they were published.
    let signed = 0;
    for (const v of [...found.versions].reverse()) {
      if (here.has(v.version)) {
        // A sync asks again for the signatures of the versions it has: one attached upstream since is copied.
        const version = opts.signaturesOfAll && existing ? await this.deps.storage.packages.findVersion(existing.id, v.version) : undefined;
        if (existing && version) signed += await this.copySignatures(m, existing, version, opts);
        continue;
      }
      if (v.size > this.maxTarballBytes) throw badGateway(`${fullName(found.scope, found.name)}@${v.version} at ${m.url} is ${v.size} bytes, over this registry's limit of ${this.maxTarballBytes}`);
      const tarball = await this.upstream.tarball(endpoint, v, this.maxTarballBytes);
      if (!tarball) throw badGateway(`The upstream at ${m.url} lists ${fullName(found.scope, found.name)}@${v.version} but has no tarball for it`);
      // Asked before the version is stored: a version is never here without the signatures it had.
      const signatures = await this.upstream.signatures(endpoint, found.scope, found.name, v.version);
      const imported = await this.packages.mirroring.importMirrored({
        scope: found.scope,
        name: found.name,
        kind,
        version: v.version,
        tarball,
        publishedAt: v.publishedAt,
        upstream: m.url,
        visibility: m.visibility,
      });
      for (const bundle of signatures) await this.copySignature(imported.pkg, imported.version, bundle);
      await this.signaturesChecked(m, imported.pkg, v.version);
      if (imported.added) added++;
    }
    const changed = await this.packages.mirroring.applyMirrorState(key, {
      distTags: found.distTags,
      deprecated: new Map(found.versions.map((v) => [v.version, v.deprecated])),
      visibility: m.visibility,
    });
    await this.mirrors.store.markPackage(key, m.name, isoNow(this.deps.clock));
    if (!existing) return (await this.deps.storage.packages.findByKey(key)) ? 'added' : undefined;
    return added > 0 || signed > 0 || changed ? 'updated' : 'unchanged';
  }

  /** Asks the upstream for a version's signatures and copies those not here; answers how many were new. */
  private async copySignatures(m: MirrorRecord, pkg: PackageRecord, version: VersionRecord, opts: { via?: readonly string[] }): Promise<number> {
    const bundles = await this.upstream.signatures(await this.mirrors.endpointOf(m, opts.via), pkg.scope, pkg.name, version.version);
    let copied = 0;
    for (const bundle of bundles) if ((await this.copySignature(pkg, version, bundle)) === 'added') copied++;
    await this.signaturesChecked(m, pkg, version.version);
    return copied;
  }

  private async signaturesChecked(m: MirrorRecord, pkg: PackageRecord, version: string): Promise<void> {
    await this.mirrors.store.putListing({ mirror: m.name, repo: pkg.key, listing: signaturesListing(version), items: [], checkedAt: isoNow(this.deps.clock) });
  }

  /**
   * Binds a scope to mirror `m`, creating it (owned by {@link MIRROR_OWNER}) when this registry does
   * not have it. False when the scope is this registry's own, or another mirror's.
   */
  private async claim(m: MirrorRecord, scope: string): Promise<boolean> {
    const held = await this.claimOf(scope);
    if (held) return held.mirror === m.name;
    const at = isoNow(this.deps.clock);
    // The scope first, so that a scope that exists without a claim is always this registry's own.
    const created = await this.deps.storage
      .transaction(async (tx) => {
        if (await tx.scopes.find(scope)) return false;
        const owner = await this.mirrors.ensureOwner(tx, at);
        await tx.scopes.insert(scope, owner.id, at, m.visibility);
        return true;
      })
      .catch(() => false); // another request created it meanwhile: the claim below says whose it is
    if (!created && !(await this.mirrors.store.findScope(scope))) {
      // Created by another request of this mirror that has not claimed it yet, or a scope of this registry's own.
      const record = await this.deps.storage.scopes.find(scope);
      const owner = await this.deps.storage.accounts.findByName(MIRROR_OWNER);
      if (!record || !owner || record.ownerAccountId !== owner.id) return false;
    }
    const claim = await this.mirrors.store.claimScope({ scope: scope.toLowerCase(), mirror: m.name, upstream: m.url, createdAt: at });
    this.remember(scope, claim);
    return claim.mirror === m.name;
  }

  /**
   * The claim on a scope, if any (kept once known: claims are never taken back). `hasPackages`: the
   * scope holds a package already, so its having no claim is final too (a scope is claimed before
   * any package is fetched into it) and is kept, sparing reads of local packages a query.
   */
  private async claimOf(scope: string, hasPackages = false): Promise<MirrorScopeRecord | undefined> {
    const s = scope.toLowerCase();
    const known = this.claims.get(s);
    if (known !== undefined) return known ?? undefined;
    const found = await this.mirrors.store.findScope(s);
    if (found || hasPackages) this.remember(s, found ?? null);
    return found;
  }

  private remember(scope: string, claim: MirrorScopeRecord | null): void {
    if (this.claims.size >= CLAIM_CACHE_ENTRIES) this.claims.clear();
    this.claims.set(scope.toLowerCase(), claim);
  }

  /** Runs `task` unless the same one is under way, in which case its result is awaited instead. */
  private async once<T>(id: string, task: () => Promise<T>): Promise<T> {
    const running = this.inflight.get(id);
    if (running) return running as Promise<T>;
    const p = task().finally(() => this.inflight.delete(id));
    this.inflight.set(id, p);
    return p;
  }
}
