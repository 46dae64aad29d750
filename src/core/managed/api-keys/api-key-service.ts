import { permits, type RequestContext } from '../../auth/principal.js';
import { badRequest, notFound } from '../../errors.js';
import type { TokenRecord } from '../../tokens/token-repo.js';
import type { TokenService } from '../../tokens/token-service.js';
import { reader, type ManagedDeps } from '../managed-deps.js';

/**
 * 002's API keys are the core's tokens: a key is shown once at creation, lists never show it,
 * and deleting one revokes it at once. A key gets the caller's permission, at most `publish`.
 */
export interface ApiKeyView {
  id: string;
  name: string;
  /** The first characters of the key, so a user can tell keys apart. */
  prefix: string;
  permission: string;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
}

const ID = /^key_([1-9][0-9]{0,15})$/;

export const apiKeyView = (t: TokenRecord): ApiKeyView => ({
  id: `key_${t.id}`,
  name: t.name,
  prefix: t.prefix,
  permission: t.permission,
  createdAt: t.createdAt,
  lastUsedAt: t.lastUsedAt,
  expiresAt: t.expiresAt,
});

export class ApiKeyService {
  constructor(
    private readonly deps: ManagedDeps,
    private readonly tokens: TokenService,
  ) {}

  async create(ctx: RequestContext, input: { name: string }): Promise<{ key: string; view: ApiKeyView }> {
    const p = this.deps.policy.requirePrincipal(ctx);
    if (input.name.trim() === '') throw badRequest('name must not be empty');
    const permission = permits(p.token.permission, 'publish') ? 'publish' : p.token.permission;
    const created = await this.tokens.create(ctx, { name: input.name, permission, scopes: p.token.scopes });
    return { key: created.secret, view: apiKeyView(created.record) };
  }

  /** The caller's live keys (never their secrets). */
  async list(ctx: RequestContext): Promise<ApiKeyView[]> {
    reader(this.deps, ctx);
    return (await this.tokens.list(ctx)).filter((t) => t.revokedAt === null).map(apiKeyView);
  }

  async revoke(ctx: RequestContext, id: string): Promise<void> {
    const m = ID.exec(id);
    if (!m) throw notFound(`API key ${id} not found`);
    await this.tokens.revoke(ctx, Number(m[1]));
  }
}
