import type { AccountService } from '../accounts/account-service.js';
import type { Visibility } from '../access/visibility.js';
import type { RequestContext } from '../auth/principal.js';
import { AgentryError, badRequest, conflict, notFound } from '../errors.js';
import { PRAISON_NAME_MAX, PRAISON_NAME_PATTERN } from '../packages/manifest/praison-bundle.js';
import type { PackageLifecycle } from '../packages/package-lifecycle.js';
import type { DownloadTarget, PackageService } from '../packages/package-service.js';
import type { PublishResult } from '../packages/package-publisher.js';
import type { PackageRecord, VersionRecord } from '../packages/package-repo.js';
import type { Page } from '../page.js';

/** The default scope recipe names are mapped onto (AGENTRY_RECIPE_SCOPE). */
export const DEFAULT_RECIPE_SCOPE = 'recipes';

export interface RecipeListQuery {
  /** Recipes carrying at least one of these tags. */
  tags?: string[];
  /** Full-text match on name, description and tags. */
  text?: string;
  limit: number;
  offset: number;
}

export interface RecipeInfo {
  pkg: PackageRecord;
  /** Live versions, newest semver first. */
  versions: VersionRecord[];
}

/**
 * PraisonAI's recipe registry on the core: recipe names carry no scope there, so every recipe lives
 * in one configured scope (default `@recipes`, an org created at first start). Recipes are packages
 * of kind `recipe`; every rule (validation, immutability, who may write, `latest`) is the package
 * service's. This only maps an unscoped name onto that scope and says "Recipe not found: <name>".
 */
export class RecipeService {
  constructor(
    private readonly packages: PackageService,
    private readonly lifecycle: PackageLifecycle,
    private readonly accounts: AccountService,
    /** The scope every recipe name is mapped onto. */
    readonly scope: string = DEFAULT_RECIPE_SCOPE,
  ) {}

  /** Creates the recipe scope's org on first start (not on a read-only server). */
  async ensureScope(): Promise<void> {
    await this.accounts.ensureSystemOrg(this.scope, 'Recipes (PraisonAI recipe registry)');
  }

  async list(ctx: RequestContext, q: RecipeListQuery): Promise<Page<PackageRecord>> {
    const page = await this.packages.query(ctx, {
      kind: 'recipe',
      scope: this.scope,
      text: q.text,
      anyTags: q.tags && q.tags.length > 0 ? q.tags : undefined,
      sort: q.text ? 'relevance' : 'name',
      limit: q.limit,
      offset: q.offset,
    });
    return { rows: page.rows, total: page.total };
  }

  /** A recipe and its live versions; a recipe whose versions were all deleted is not found. */
  async info(ctx: RequestContext, name: string): Promise<RecipeInfo> {
    const pkg = await this.find(ctx, name);
    const { versions } = await this.packages.versions(ctx, this.scope, pkg.name, 'recipe');
    if (versions.length === 0) throw notFound(`Recipe not found: ${name}`);
    return { pkg, versions };
  }

  async version(ctx: RequestContext, name: string, version: string): Promise<{ pkg: PackageRecord; version: VersionRecord }> {
    const pkg = await this.find(ctx, name);
    return { pkg, version: await this.resolve(pkg, name, version) };
  }

  /** Counts one download of a version found with `version` (which applied the access rule). */
  async countDownload(found: DownloadTarget): Promise<DownloadTarget> {
    return this.packages.countDownload(found);
  }

  async publish(ctx: RequestContext, name: string, version: string, bundle: Buffer, force: boolean, access?: Visibility, idempotencyKey?: string | string[]): Promise<PublishResult> {
    assertRecipeName(name);
    try {
      return await this.packages.publish(ctx, { kind: 'recipe', scope: this.scope, name, version, tarball: bundle, bundle: true, force, access, idempotencyKey });
    } catch (e) {
      if (e instanceof AgentryError && e.code === 'conflict' && !force && /already exists/.test(e.message)) {
        throw conflict(`Recipe ${name}@${version} already exists. Publish with force to replace its content, or bump the version number.`, { ...e.fields });
      }
      throw e;
    }
  }

  async remove(ctx: RequestContext, name: string, version: string): Promise<VersionRecord> {
    const { pkg } = await this.version(ctx, name, version);
    return this.lifecycle.unpublish(ctx, this.scope, pkg.name, version, 'recipe');
  }

  /** Deletes every version of a recipe (none of their numbers can be reused). */
  async removeAll(ctx: RequestContext, name: string): Promise<VersionRecord[]> {
    const { pkg } = await this.info(ctx, name);
    return this.lifecycle.unpublishAll(ctx, this.scope, pkg.name, 'recipe');
  }

  private async find(ctx: RequestContext, name: string): Promise<PackageRecord> {
    assertRecipeName(name);
    try {
      return await this.packages.find(ctx, this.scope, name, 'recipe');
    } catch (e) {
      throw rename(e, `Recipe not found: ${name}`);
    }
  }

  private async resolve(pkg: PackageRecord, name: string, version: string): Promise<VersionRecord> {
    try {
      return await this.packages.resolve(pkg, version);
    } catch (e) {
      throw rename(e, `Version not found: ${name}@${version}`);
    }
  }
}

/** PraisonAI's name rule, checked before the core's own package-name rule. */
export const assertRecipeName = (name: string): void => {
  if (name.length === 0 || name.length > PRAISON_NAME_MAX || !PRAISON_NAME_PATTERN.test(name)) {
    throw badRequest(`Invalid recipe name: '${name.slice(0, 140)}'`, [`a recipe name is 1-${PRAISON_NAME_MAX} letters, digits, '.', '_' or '-', starting and ending with a letter or digit`]);
  }
};

const rename = (e: unknown, message: string): unknown => (e instanceof AgentryError && e.code === 'not_found' ? notFound(message) : e);
