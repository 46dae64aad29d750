import type { CoreDeps } from '../core-deps.js';
import { createHash, randomBytes } from 'node:crypto';
import type { AccountService } from '../accounts/account-service.js';
import type { RequestContext } from '../auth/principal.js';
import { AgentryError, badRequest, conflict, notImplemented } from '../errors.js';
import type { AccountRecord } from '../accounts/account-repo.js';
import { isoNow } from '../time.js';
import type { TokenService } from '../tokens/token-service.js';
import { ProviderError, type OAuthClient, type ProviderProfile } from './oauth-client.js';
import { redirectUriProblem } from './redirect-uris.js';

export interface SignInConfig {
  client: OAuthClient;
  /** Redirect URIs allowed besides loopback ones (the server's own callback among them). */
  allowedRedirectUris: string[];
  /** Where the provider sends the browser when the client names no redirect_uri. */
  defaultRedirectUri?: string;
  /** Lifetime of the token a sign-in issues; null: no expiry. */
  tokenDays: number | null;
}

export interface SignInResult {
  account: AccountRecord;
  token: string;
  profile: ProviderProfile;
  created: boolean;
}

const STATE_TTL_MS = 10 * 60_000;
const hashState = (state: string): string => createHash('sha256').update(state, 'utf8').digest('hex');

/**
 * Sign-in through an OAuth2 provider, as agentx's `POST /auth/github` and `GET /auth/callback`:
 * a random single-use `state` (CSRF) is stored hashed for ten minutes with its redirect URI; the
 * callback takes it back, exchanges the code (with that same redirect URI), reads the user,
 * creates or updates the account linked to that provider identity, and issues a publish token.
 */
export class SignInService {
  constructor(
    private readonly deps: CoreDeps,
    private readonly accounts: AccountService,
    private readonly tokens: TokenService,
    private readonly config: SignInConfig | undefined,
  ) {}

  get configured(): boolean {
    return this.config !== undefined;
  }

  /** The configured provider's name (`github` by default), or undefined when sign-in is not configured. */
  get provider(): string | undefined {
    return this.config?.client.provider;
  }

  async start(redirectUri: string | undefined): Promise<{ authUrl: string; state: string }> {
    const cfg = this.requireConfigured();
    this.deps.policy.requireWritable();
    const uri = redirectUri ?? cfg.defaultRedirectUri;
    if (!uri) throw badRequest('Validation failed', ["body: missing required field 'redirect_uri'"]);
    const problem = redirectUriProblem(uri, cfg.allowedRedirectUris);
    if (problem) throw badRequest('Validation failed', [problem]);
    const state = randomBytes(32).toString('base64url');
    const now = this.deps.clock.now();
    await this.deps.storage.oauth.pruneStates(now.toISOString());
    await this.deps.storage.oauth.saveState(hashState(state), {
      redirectUri: uri,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + STATE_TTL_MS).toISOString(),
    });
    return { authUrl: cfg.client.authorizeUrl(state, uri), state };
  }

  async complete(ctx: RequestContext, code: string, state: string): Promise<SignInResult> {
    const cfg = this.requireConfigured();
    this.deps.policy.requireWritable();
    const pending = await this.deps.storage.oauth.takeState(hashState(state));
    if (!pending || Date.parse(pending.expiresAt) <= this.deps.clock.now().getTime()) {
      throw badRequest('Invalid or expired state', ['state: unknown, already used or older than 10 minutes; start the sign-in again']);
    }
    let profile: ProviderProfile;
    try {
      const accessToken = await cfg.client.exchangeCode(code, pending.redirectUri);
      profile = await cfg.client.fetchProfile(accessToken);
    } catch (e) {
      if (e instanceof ProviderError) {
        throw e.kind === 'refused'
          ? badRequest('Sign-in failed: the provider refused the authorization code', [e.message])
          : new AgentryError('bad_gateway', 'Sign-in failed: the provider could not be reached', [e.message]);
      }
      throw e;
    }
    const provider = cfg.client.provider;
    const linkedId = await this.deps.storage.oauth.findAccountId(provider, profile.subject);
    let account = linkedId === undefined ? undefined : await this.deps.storage.accounts.findById(linkedId);
    const created = account === undefined;
    if (!account) {
      if (await this.deps.storage.accounts.findByName(profile.username)) {
        throw conflict(`The name '${profile.username.toLowerCase()}' is already taken on this registry by an account not linked to this ${provider} user`);
      }
      account = await this.accounts.createSignedInUser(ctx, { username: profile.username, displayName: profile.displayName, email: profile.email });
    }
    const signedIn = account;
    const at = isoNow(this.deps.clock);
    await this.deps.storage.transaction(async (tx) => {
      await tx.oauth.link(provider, profile.subject, signedIn.id, at);
      await tx.accounts.updateProfile(signedIn.id, { displayName: profile.displayName, avatarUrl: profile.avatarUrl, email: profile.email }, at);
      // Package detail documents show their owner's name and avatar: those of a changed profile are written again (PackageService.document).
      if (!created && (signedIn.displayName !== profile.displayName || signedIn.avatarUrl !== profile.avatarUrl)) await tx.packages.dropOwnerDocuments(signedIn.id);
      await this.deps.audit.record(tx.audit, { ...ctx, principal: null }, 'user.signin', `@${signedIn.name}`, { provider, subject: profile.subject, created });
    });
    const issued = await this.tokens.issue(signedIn, { name: `${provider} sign-in ${at.slice(0, 10)}`, permission: 'publish', expiresInDays: cfg.tokenDays }, 'token.create', ctx);
    return { account: (await this.deps.storage.accounts.findById(signedIn.id)) ?? signedIn, token: issued.secret, profile, created };
  }

  private requireConfigured(): SignInConfig {
    if (!this.config) {
      throw notImplemented('Sign-in with an OAuth provider is not configured on this server (set AGENTRY_OAUTH_CLIENT_ID and AGENTRY_OAUTH_CLIENT_SECRET)');
    }
    return this.config;
  }
}
