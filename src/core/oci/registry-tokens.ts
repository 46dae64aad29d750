import { createHmac, timingSafeEqual } from 'node:crypto';
import type { RequestContext } from '../auth/principal.js';
import type { Storage } from '../storage.js';
import type { Clock } from '../time.js';
import type { OciAccess, OciContext, OciGrant } from './access.js';
import { parseScopes } from './access.js';
import { ociError } from './oci-errors.js';

/** How long a registry bearer token lives. */
export const REGISTRY_TOKEN_SECONDS = 300;
const PREFIX = 'agentry-oci.';

interface TokenClaims {
  /** The Agentry token id behind it; null for an anonymous (pull-only) token. */
  tid: number | null;
  access: OciGrant[];
  iat: number;
  exp: number;
}

export interface IssuedRegistryToken {
  token: string;
  expiresIn: number;
  issuedAt: string;
  granted: OciGrant[];
}

/**
 * The Docker token flow's short-lived bearer tokens: an HMAC-signed list of grants
 * (`repository:<name>:<actions>`) bound to the Agentry token that asked for it. A token is
 * re-checked on use: once its Agentry token is revoked or expired, it stops working too.
 */
export class RegistryTokens {
  /** The signing key never changes once made (migration 0006-oci): read it once per process. */
  private key: Promise<string> | undefined;

  constructor(
    private readonly storage: Storage,
    private readonly access: OciAccess,
    private readonly clock: Clock,
  ) {}

  /** Issues a token for `ctx` (anonymous or authenticated) with the requested scopes it may have. */
  async issue(ctx: RequestContext, scopes: string[]): Promise<IssuedRegistryToken> {
    const granted = await this.access.grantable(ctx, parseScopes(scopes));
    const now = this.clock.now();
    const iat = Math.floor(now.getTime() / 1000);
    const claims: TokenClaims = { tid: ctx.principal?.token.id ?? null, access: granted, iat, exp: iat + REGISTRY_TOKEN_SECONDS };
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    const token = `${PREFIX}${payload}.${await this.sign(payload)}`;
    return { token, expiresIn: REGISTRY_TOKEN_SECONDS, issuedAt: now.toISOString(), granted };
  }

  isRegistryToken(secret: string): boolean {
    return secret.startsWith(PREFIX);
  }

  /** Turns a presented registry token back into who and what it grants, or throws UNAUTHORIZED. */
  async verify(secret: string, ip: string | null): Promise<OciContext> {
    const refused = (why: string) => ociError('UNAUTHORIZED', `Invalid registry token: ${why}`);
    const body = secret.slice(PREFIX.length);
    const dot = body.indexOf('.');
    if (dot < 0) throw refused('malformed');
    const payload = body.slice(0, dot);
    const given = Buffer.from(body.slice(dot + 1), 'base64url');
    const expected = Buffer.from(await this.sign(payload), 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw refused('bad signature');
    let claims: TokenClaims;
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as TokenClaims;
    } catch {
      throw refused('malformed');
    }
    if (!(claims.exp > this.clock.now().getTime() / 1000)) throw refused('expired; request a new one');
    if (claims.tid === null) return { principal: null, ip, grants: claims.access };
    const token = await this.storage.tokens.findById(claims.tid);
    if (!token || token.revokedAt) throw refused('the Agentry token it was issued for has been revoked');
    if (token.expiresAt && Date.parse(token.expiresAt) <= this.clock.now().getTime()) throw refused('the Agentry token it was issued for has expired');
    const account = await this.storage.accounts.findById(token.accountId);
    if (!account) throw refused('unknown account');
    return { principal: { account, token }, ip, grants: claims.access };
  }

  private async sign(payload: string): Promise<string> {
    this.key ??= this.storage.oci.signingKey().catch((e: unknown) => {
      this.key = undefined;
      throw e;
    });
    return createHmac('sha256', await this.key)
      .update(payload)
      .digest('base64url');
  }
}
