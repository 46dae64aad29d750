import type { Visibility } from '../access/visibility.js';
import type { CoreDeps } from '../core-deps.js';
import { ownValue } from '../own-value.js';
import type { RequestContext } from '../auth/principal.js';
import { badGateway, notFound } from '../errors.js';
import type { PackageRecord, VersionRecord } from './package-repo.js';
import type { StorageRepos } from '../storage.js';
import type { PackageService } from './package-service.js';
import { isoNow } from '../time.js';
import type { PackageKind } from './kinds.js';
import { distTagProblem, refreshLatest } from './latest.js';
import { fullName, parsePackageId } from './names.js';
import { changePackageVisibility } from './package-visibility.js';
import { newPackage, newVersion, type PackagePublisher } from './package-publisher.js';

/**
 * What pull-through mirrors (core/mirrors/agentry-mirror.ts) write of the packages they take from
 * an upstream: its versions, checked like every publish, and its dist-tags and deprecations.
 * Every write goes through `PackageService.change`.
 */
export class PackageMirroring {
  constructor(
    private readonly deps: CoreDeps,
    private readonly packages: Pick<PackageService, 'change'>,
    private readonly publisher: Pick<PackagePublisher, 'checkTarball'>,
  ) {}

  /**
   * Stores a version fetched from an upstream (core/mirrors; its bytes already checked against the
   * digest the upstream announced): checked like every publish (manifest, files, secrets), kept in
   * its scope (which the mirror created) with no publisher and the upstream's publish time; a new
   * package takes the mirror's visibility. A version that is already here is left as it is (versions
   * never change); answers it and whether it was added.
   */
  async importMirrored(input: {
    scope: string;
    name: string;
    kind: PackageKind;
    version: string;
    tarball: Buffer;
    publishedAt: string | null;
    upstream: string;
    visibility: Visibility;
  }): Promise<{ pkg: PackageRecord; version: VersionRecord; added: boolean }> {
    const id = parsePackageId(input.scope, input.name);
    const checked = await this.publisher.checkTarball(id, { kind: input.kind, tarball: input.tarball, version: input.version });
    const { contents, manifest, version } = checked;
    if (version !== input.version) throw badGateway(`The upstream at ${input.upstream} announced ${fullName(id.scope, id.name)}@${input.version}, but its tarball is version ${version}`);
    // The bytes are stored exactly as signed upstream: a tarball the publish check would rewrite is not taken.
    if (!contents.tarball.equals(input.tarball)) throw badGateway(`The upstream at ${input.upstream} sent a tarball of ${fullName(id.scope, id.name)}@${version} with special file modes; refused`);
    const blob = await this.deps.blobs.put(input.tarball);
    const system: RequestContext = { principal: null, ip: null };
    return this.packages.change(id.key, async (tx) => {
      const now = isoNow(this.deps.clock);
      const scope = await tx.scopes.find(id.scope);
      if (!scope) throw notFound(`Scope @${id.scope} does not exist`);
      let pkg = await tx.packages.lockByKey(id.key);
      if (pkg && pkg.kind !== manifest.kind)
        throw badGateway(`The upstream at ${input.upstream} sent ${fullName(id.scope, id.name)} as a package of kind '${manifest.kind}'; here it is '${pkg.kind}'`);
      if (!pkg) {
        await tx.packages.insert(newPackage(id, scope, checked, input.visibility, now));
        pkg = (await tx.packages.lockByKey(id.key))!;
      }
      const existing = await tx.packages.findVersion(pkg.id, version);
      if (existing) return { pkg, version: existing, added: false };
      const record = await tx.packages.insertVersion(newVersion(pkg.id, checked, blob, null, input.publishedAt ?? now));
      await refreshLatest(tx, pkg, undefined, { record, manifest });
      await tx.packages.update(pkg.id, { updatedAt: now });
      await this.deps.audit.record(tx.audit, system, 'mirror.fetch', `${fullName(pkg.scope, pkg.name)}@${version}`, { kind: manifest.kind, digest: blob.digest, upstream: input.upstream });
      return { pkg: (await tx.packages.findById(pkg.id))!, version: record, added: true };
    });
  }

  /**
   * Makes a mirrored package's dist-tags and deprecations what its upstream says (for the versions
   * that are here; invalid tags are skipped), and its visibility its mirror's. Answers whether
   * anything changed.
   */
  async applyMirrorState(key: string, state: { distTags: Record<string, string>; deprecated: Map<string, string | null>; visibility: Visibility }): Promise<boolean> {
    return this.packages.change(key, async (tx) => {
      const pkg = await tx.packages.lockByKey(key);
      if (!pkg) return false;
      let changed = await this.keepVisibility(tx, pkg, state.visibility);
      const now = isoNow(this.deps.clock);
      const live = await tx.packages.listVersions(pkg.id, false);
      const here = new Set(live.map((v) => v.version));
      for (const v of live) {
        const wanted = state.deprecated.get(v.version);
        if (wanted !== undefined && wanted !== v.deprecated) {
          await tx.packages.setDeprecated(v.id, wanted, now);
          changed = true;
        }
      }
      const current = await tx.packages.distTags(pkg.id);
      const wantedTags = new Map(Object.entries(state.distTags).filter(([tag, v]) => tag !== 'latest' && distTagProblem(tag) === undefined && here.has(v)));
      for (const [tag, v] of wantedTags) {
        if (ownValue(current, tag) !== v) {
          await tx.packages.setDistTag(pkg.id, tag, v);
          changed = true;
        }
      }
      for (const tag of Object.keys(current)) {
        if (!wantedTags.has(tag)) {
          await tx.packages.deleteDistTag(pkg.id, tag);
          changed = true;
        }
      }
      const latest = ownValue(state.distTags, 'latest');
      const before = pkg.latestVersion;
      const after = await refreshLatest(tx, { ...pkg, latestPinned: false }, latest !== undefined && here.has(latest) ? latest : undefined);
      if (after !== before) changed = true;
      return changed;
    });
  }

  /** Gives a mirrored package its mirror's visibility (the mirror's changed); whether it had another. */
  async applyMirrorVisibility(key: string, visibility: Visibility): Promise<boolean> {
    return this.packages.change(key, async (tx) => {
      const pkg = await tx.packages.lockByKey(key);
      return pkg ? this.keepVisibility(tx, pkg, visibility) : false;
    });
  }

  /** Sets a mirrored package's visibility (audited as the mirror's doing: no caller); whether it changed. */
  private keepVisibility(tx: StorageRepos, pkg: PackageRecord, visibility: Visibility): Promise<boolean> {
    return changePackageVisibility(tx, this.deps.audit, { principal: null, ip: null }, pkg, visibility, { mirrored: true });
  }
}
