/**
 * The port through which an `mcp_oauth` vault credential is refreshed: the OAuth 2.0 refresh-token
 * grant (RFC 6749 §6) at the credential's token endpoint. The adapter makes the request through the
 * egress policy; the core decides when, and keeps what comes back in the secret store.
 */
export interface TokenRefreshRequest {
  tokenEndpoint: string;
  refreshToken: string;
  clientId: string;
  /** How the client authenticates at the token endpoint (the credential's `token_endpoint_auth.type`). */
  auth: 'none' | 'client_secret_basic' | 'client_secret_post';
  clientSecret?: string;
  scope?: string;
  /** RFC 8707 resource indicator (the MCP server). */
  resource?: string;
}

export interface TokenRefreshResult {
  accessToken: string;
  /** A rotated refresh token, when the server issued one. */
  refreshToken?: string;
  /** Seconds the new access token lives, when the server says. */
  expiresIn?: number;
}

export interface OAuthTokenRefresher {
  /** Rejects with a message that names the endpoint and the OAuth error, never a token. */
  refresh(req: TokenRefreshRequest): Promise<TokenRefreshResult>;
}
