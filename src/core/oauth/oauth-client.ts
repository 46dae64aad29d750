/** What a sign-in provider says about the person who signed in. */
export interface ProviderProfile {
  /** The provider's stable id of the person (GitHub `id`, OIDC `sub`), as text. */
  subject: string;
  /** The provider's login name (GitHub `login`, OIDC `preferred_username`). */
  username: string;
  displayName: string | null;
  avatarUrl: string | null;
  email: string | null;
}

/** The refusal of a provider: `refused` (bad code, bad client secret), or `unreachable`. */
export class ProviderError extends Error {
  constructor(
    readonly kind: 'refused' | 'unreachable',
    message: string,
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}

/**
 * The port to an OAuth2 / OIDC provider (GitHub by default): build the authorize URL, exchange an
 * authorization code for an access token, read the user. The HTTP client lives outside the core.
 */
export interface OAuthClient {
  /** Short provider name recorded with linked identities (`github`). */
  readonly provider: string;
  authorizeUrl(state: string, redirectUri: string): string;
  /** Throws ProviderError. */
  exchangeCode(code: string, redirectUri: string): Promise<string>;
  /** Throws ProviderError. */
  fetchProfile(accessToken: string): Promise<ProviderProfile>;
}
