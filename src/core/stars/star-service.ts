import type { CoreDeps } from '../core-deps.js';
import type { RequestContext } from '../auth/principal.js';
import { fullName } from '../packages/names.js';
import type { PackageService } from '../packages/package-service.js';
import type { AccountRecord } from '../accounts/account-repo.js';
import type { PackageKind } from '../packages/kinds.js';
import type { PackageRecord } from '../packages/package-repo.js';
import type { Page } from '../page.js';
import { isoNow } from '../time.js';

export interface StarState {
  pkg: PackageRecord;
  starred: boolean;
  starCount: number;
}

/**
 * Stars: a signed-in user marks a package, once; `star_count` counts the users who did.
 * Starring needs a token with publish permission (a read token only reads).
 */
export class StarService {
  constructor(
    private readonly deps: CoreDeps,
    private readonly packages: PackageService,
  ) {}

  star(ctx: RequestContext, scope: string, name: string, kind?: PackageKind): Promise<StarState> {
    return this.set(ctx, scope, name, kind, true);
  }

  unstar(ctx: RequestContext, scope: string, name: string, kind?: PackageKind): Promise<StarState> {
    return this.set(ctx, scope, name, kind, false);
  }

  /** Whether the caller starred the package (false when anonymous). */
  async state(ctx: RequestContext, scope: string, name: string, kind?: PackageKind): Promise<StarState> {
    const pkg = await this.packages.find(ctx, scope, name, kind);
    const starred = ctx.principal ? await this.deps.storage.stars.has(pkg.id, ctx.principal.account.id) : false;
    return { pkg, starred, starCount: pkg.starCount };
  }

  /** The published packages an account starred that the caller may read, most recent first. */
  async starredBy(ctx: RequestContext, account: AccountRecord, offset: number, limit: number): Promise<Page<PackageRecord>> {
    return this.deps.storage.stars.starredBy(account.id, offset, limit, await this.deps.policy.readFilter(ctx));
  }

  private async set(ctx: RequestContext, scope: string, name: string, kind: PackageKind | undefined, on: boolean): Promise<StarState> {
    const found = await this.packages.find(ctx, scope, name, kind);
    this.deps.policy.requireWritable();
    const p = this.deps.policy.requirePermission(ctx, 'publish');
    await this.packages.change(found, async (tx) => {
      const changed = on ? await tx.stars.add(found.id, p.account.id, isoNow(this.deps.clock)) : await tx.stars.remove(found.id, p.account.id);
      if (changed) await this.deps.audit.record(tx.audit, ctx, on ? 'package.star' : 'package.unstar', fullName(found.scope, found.name));
    });
    const pkg = (await this.deps.storage.packages.findById(found.id)) ?? found;
    return { pkg, starred: on, starCount: pkg.starCount };
  }
}
