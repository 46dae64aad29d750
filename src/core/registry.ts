import { AccountService } from './accounts/account-service.js';
import { ScopeService } from './accounts/scope-service.js';
import { AuditLog } from './audit/audit-log.js';
import { AccessPolicy } from './auth/access-policy.js';
import type { RequestContext } from './auth/principal.js';
import { GarbageCollector } from './blobs/garbage-collector.js';
import { PackageService } from './packages/package-service.js';
import { SecretService } from './secrets/secret-service.js';
import type { SecretStore } from './secrets/secret-store.js';
import { SkillService } from './skills/skill-service.js';
import { RecipeService } from './recipes/recipe-service.js';
import type { TarballLimits } from './packages/tarball.js';
import type { AuditQuery, BlobStore, Storage } from './storage.js';
import { systemClock, type Clock } from './time.js';
import { TokenService } from './tokens/token-service.js';

export interface RegistryOptions {
  storage: Storage;
  blobs: BlobStore;
  limits: TarballLimits;
  clock?: Clock;
  /** Serve reads only: every write is refused with `read_only`. */
  readOnly?: boolean;
  /** The backend that keeps secret values (built-in, environment or Vault; see core/secrets). */
  secretStore: SecretStore;
  /** The only server-side folder skills may be validated from (AGENTRY_SKILLS_ROOT); none when unset. */
  skillsRoot?: string;
  /** The scope PraisonAI's unscoped recipe names map onto (default `recipes`). */
  recipeScope?: string;
}

/**
 * The core, assembled: every door holds one `Registry` and calls its services.
 *
 * @example
 *   const registry = new Registry({ storage, blobs, limits });
 *   const ctx = { principal: await registry.tokens.authenticate(secret), ip };
 *   await registry.packages.publish(ctx, { scope: 'alice', name: 'helper', tarball });
 */
export class Registry {
  readonly storage: Storage;
  readonly blobs: BlobStore;
  readonly policy: AccessPolicy;
  readonly auditLog: AuditLog;
  readonly tokens: TokenService;
  readonly accounts: AccountService;
  readonly packages: PackageService;
  readonly gc: GarbageCollector;
  readonly scopes: ScopeService;
  readonly secrets: SecretService;
  readonly skills: SkillService;
  readonly recipes: RecipeService;

  constructor(opts: RegistryOptions) {
    const clock = opts.clock ?? systemClock;
    this.storage = opts.storage;
    this.blobs = opts.blobs;
    this.policy = new AccessPolicy(opts.storage, opts.readOnly ?? false);
    this.auditLog = new AuditLog(clock);
    this.tokens = new TokenService(opts.storage, this.policy, this.auditLog, clock);
    this.accounts = new AccountService(opts.storage, this.policy, this.tokens, this.auditLog, clock);
    this.packages = new PackageService(opts.storage, opts.blobs, this.policy, this.auditLog, clock, opts.limits);
    this.gc = new GarbageCollector(opts.storage, opts.blobs, this.policy, this.auditLog, clock);
    this.scopes = new ScopeService(opts.storage, this.policy, this.auditLog, clock);
    this.secrets = new SecretService(opts.secretStore, opts.storage, this.policy, this.auditLog);
    this.skills = new SkillService(this.packages, opts.blobs, opts.limits, opts.skillsRoot);
    this.recipes = new RecipeService(this.packages, this.accounts, opts.recipeScope);
  }

  /** Admin only: the audit log, newest first. */
  audit(ctx: RequestContext, q: AuditQuery) {
    this.policy.requireAdmin(ctx);
    return this.auditLog.list(this.storage.audit, q);
  }
}
