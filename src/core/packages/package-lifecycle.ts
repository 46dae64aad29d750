import type { RequestContext } from '../auth/principal.js';
import type { CoreDeps } from '../core-deps.js';
import { badRequest, notFound } from '../errors.js';
import { kindLabel, type PackageKind } from './kinds.js';
import { distTagProblem, refreshLatest, retireVersions } from './latest.js';
import { fullName } from './names.js';
import type { PackageRecord, VersionRecord } from './package-repo.js';
import type { PackageService } from './package-service.js';
import { isoNow } from '../time.js';
import { sortVersionStringsDesc, versionSchemeOf } from './version-scheme.js';
import { DEFAULT_DEPRECATION_MESSAGE, MAX_STATUS_MESSAGE, VERSION_STATUSES, statusOf, type VersionStatus } from './version-status.js';

/**
 * What happens to a package's versions after they are published: deprecate, unpublish (one or
 * all), set their status (the MCP registry's active / deprecated / deleted), and move dist-tags.
 * Every change is by the scope's writers, in one transaction through `PackageService.change`, and
 * audited; a retired version loses its dist-tags and `latest` is recomputed (`retireVersions`).
 */
export class PackageLifecycle {
  constructor(
    private readonly deps: CoreDeps,
    private readonly packages: PackageService,
  ) {}

  async deprecate(ctx: RequestContext, scope: string, name: string, version: string, message: string, kind?: PackageKind): Promise<VersionRecord> {
    const pkg = await this.packages.find(ctx, scope, name, kind);
    this.deps.policy.requireWritable();
    await this.deps.policy.requireScopeWrite(ctx, pkg.scope);
    await this.packages.requireLocal(pkg.scope);
    const v = await this.packages.resolve(pkg, version);
    const text = message.trim();
    if (text.length > 1000) throw badRequest('A deprecation message is at most 1000 characters');
    await this.packages.change(pkg, async (tx) => {
      await tx.packages.setDeprecated(v.id, text.length > 0 ? text : null, isoNow(this.deps.clock));
      await this.deps.audit.record(tx.audit, ctx, text ? 'package.deprecate' : 'package.undeprecate', `${fullName(pkg.scope, pkg.name)}@${v.version}`, {
        message: text || null,
      });
    });
    return { ...v, deprecated: text.length > 0 ? text : null };
  }

  async unpublish(ctx: RequestContext, scope: string, name: string, version: string, kind?: PackageKind): Promise<VersionRecord> {
    const found = await this.packages.find(ctx, scope, name, kind);
    this.deps.policy.requireWritable();
    await this.deps.policy.requireScopeWrite(ctx, found.scope);
    await this.packages.requireLocal(found.scope);
    if (versionSchemeOf(found.kind).problem(version)) throw badRequest(`'${version}' is not a version; unpublish takes an exact version`);
    return this.packages.change(found, async (tx) => {
      const pkg = (await tx.packages.lockByKey(found.key))!;
      const v = await tx.packages.findVersion(pkg.id, version);
      if (!v || v.unpublishedAt) throw notFound('Version not found');
      await tx.packages.markUnpublished(v.id, isoNow(this.deps.clock));
      await retireVersions(tx, pkg, (retired) => retired === version);
      await this.deps.audit.record(tx.audit, ctx, 'package.unpublish', `${fullName(pkg.scope, pkg.name)}@${version}`, { digest: v.digest });
      return v;
    });
  }

  /**
   * Unpublishes every live version of a package at once, in one transaction (PraisonAI's "delete a
   * recipe"). Like single unpublishes, none of those version numbers can ever be reused. Answers the
   * versions that were unpublished.
   */
  async unpublishAll(ctx: RequestContext, scope: string, name: string, kind?: PackageKind): Promise<VersionRecord[]> {
    const found = await this.packages.find(ctx, scope, name, kind);
    this.deps.policy.requireWritable();
    await this.deps.policy.requireScopeWrite(ctx, found.scope);
    await this.packages.requireLocal(found.scope);
    return this.packages.change(found, async (tx) => {
      const pkg = (await tx.packages.lockByKey(found.key))!;
      const live = await tx.packages.listVersions(pkg.id, false);
      if (live.length === 0) throw notFound('No versions to unpublish');
      const at = isoNow(this.deps.clock);
      for (const v of live) await tx.packages.markUnpublished(v.id, at);
      await retireVersions(tx, pkg, () => true);
      await this.deps.audit.record(tx.audit, ctx, 'package.unpublish', fullName(pkg.scope, pkg.name), {
        versions: sortVersionStringsDesc(
          pkg.kind,
          live.map((v) => v.version),
        ),
      });
      return live;
    });
  }

  async setDistTag(ctx: RequestContext, scope: string, name: string, tag: string, version: string, kind?: PackageKind): Promise<Record<string, string>> {
    const found = await this.packages.find(ctx, scope, name, kind);
    this.deps.policy.requireWritable();
    await this.deps.policy.requireScopeWrite(ctx, found.scope);
    await this.packages.requireLocal(found.scope);
    const problem = distTagProblem(tag);
    if (problem) throw badRequest('Invalid dist-tag', [problem]);
    await this.packages.change(found, async (tx) => {
      const pkg = (await tx.packages.lockByKey(found.key))!;
      const v = await tx.packages.findVersion(pkg.id, version);
      if (!v || v.unpublishedAt) throw notFound(`Version not found: ${version}`);
      if (tag === 'latest') await refreshLatest(tx, pkg, version);
      else await tx.packages.setDistTag(pkg.id, tag, version);
      await this.deps.audit.record(tx.audit, ctx, 'package.dist-tag.set', fullName(pkg.scope, pkg.name), { tag, version });
    });
    return this.packages.distTags(ctx, found.scope, found.name);
  }

  async removeDistTag(ctx: RequestContext, scope: string, name: string, tag: string, kind?: PackageKind): Promise<Record<string, string>> {
    const found = await this.packages.find(ctx, scope, name, kind);
    this.deps.policy.requireWritable();
    await this.deps.policy.requireScopeWrite(ctx, found.scope);
    await this.packages.requireLocal(found.scope);
    await this.packages.change(found, async (tx) => {
      const pkg = (await tx.packages.lockByKey(found.key))!;
      if (tag === 'latest') {
        if (!pkg.latestPinned) throw badRequest("'latest' already follows the highest version and cannot be removed");
        await refreshLatest(tx, { ...pkg, latestPinned: false });
      } else if (!(await tx.packages.deleteDistTag(pkg.id, tag))) {
        throw notFound(`Dist-tag not found: ${tag}`);
      }
      await this.deps.audit.record(tx.audit, ctx, 'package.dist-tag.remove', fullName(pkg.scope, pkg.name), { tag });
    });
    return this.packages.distTags(ctx, found.scope, found.name);
  }

  /**
   * Sets the lifecycle status of one version, or of every version when `version` is undefined,
   * in one transaction: `deprecated` deprecates (with the message), `deleted` unpublishes (with
   * the message as the reason), `active` clears both, restoring an unpublished version. `latest`
   * is recomputed. Returns the package and the versions that changed, in publish order.
   */
  async setStatus(
    ctx: RequestContext,
    target: { scope: string; name: string; version?: string; kind?: PackageKind },
    status: VersionStatus,
    message: string | null,
  ): Promise<{ pkg: PackageRecord; versions: VersionRecord[] }> {
    this.deps.policy.requireWritable();
    const found = await this.packages.find(ctx, target.scope, target.name, target.kind);
    await this.deps.policy.requireScopeWrite(ctx, found.scope);
    await this.packages.requireLocal(found.scope);
    if (!VERSION_STATUSES.includes(status)) throw badRequest(`status must be one of ${VERSION_STATUSES.join(', ')}`);
    const text = message?.trim() || null;
    if (text !== null && text.length > MAX_STATUS_MESSAGE) throw badRequest(`A status message is at most ${MAX_STATUS_MESSAGE} characters`);
    if (status === 'active' && text !== null) throw badRequest('An active version carries no status message; leave statusMessage out');
    const wantedMessage = status === 'deprecated' ? (text ?? DEFAULT_DEPRECATION_MESSAGE) : text;
    return this.packages.change(found, async (tx) => {
      const pkg = (await tx.packages.lockByKey(found.key))!;
      const all = await tx.packages.listVersions(pkg.id, true);
      const targets = target.version === undefined ? all : all.filter((v) => v.version === target.version);
      if (targets.length === 0) throw notFound(target.version === undefined ? `${kindLabel(target.kind)} has no versions` : `Version not found: ${target.version}`);
      const now = isoNow(this.deps.clock);
      const changed = new Set<number>();
      for (const v of targets) {
        const current = statusOf(v);
        if (current.status === status && current.message === wantedMessage) continue;
        changed.add(v.id);
        if (status === 'deleted') {
          if (v.deprecated !== null) await tx.packages.setDeprecated(v.id, null);
          await tx.packages.markUnpublished(v.id, now, wantedMessage);
        } else {
          if (v.unpublishedAt) await tx.packages.restoreVersion(v.id, now);
          await tx.packages.setDeprecated(v.id, wantedMessage, now);
        }
      }
      if (changed.size === 0) {
        throw badRequest(`No changes to apply: status is already ${status}${wantedMessage ? ` with the same message` : ''}`);
      }
      if (status === 'deleted') {
        const retired = new Set(targets.map((v) => v.version));
        await retireVersions(tx, pkg, (version) => retired.has(version));
      } else {
        await refreshLatest(tx, pkg);
      }
      await tx.packages.update(pkg.id, { updatedAt: now });
      await this.deps.audit.record(tx.audit, ctx, 'package.status', `${fullName(pkg.scope, pkg.name)}${target.version === undefined ? '' : `@${target.version}`}`, {
        status,
        message: wantedMessage,
        versions: targets.filter((v) => changed.has(v.id)).map((v) => v.version),
      });
      const after = await tx.packages.listVersions(pkg.id, true);
      return { pkg: (await tx.packages.findById(pkg.id))!, versions: after.filter((v) => changed.has(v.id)) };
    });
  }
}
