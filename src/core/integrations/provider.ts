/**
 * Integrations (issue 14, point 6): a chat platform (Slack, …) that talks to published agents.
 * A provider knows its platform's wire: which credentials an install needs, how an inbound
 * webhook is authenticated and read, and how a reply is posted back. Everything else (accounts,
 * publications, threads → sessions, secrets) is the IntegrationService's, the same for every provider.
 */

/** What an inbound webhook carried, as a provider reads it. */
export type InboundEvent =
  /** The platform checks the endpoint: answer the challenge as it is. */
  | { kind: 'challenge'; challenge: string }
  /** A message a user wrote in a channel (threadId: the conversation it belongs to). */
  | { kind: 'message'; eventId: string; workspace: string | null; channel: string; threadId: string; text: string; user: string | null }
  /** Anything else (bot messages, edits, other event types): acknowledged and dropped. */
  | { kind: 'ignored'; reason: string };

/** An inbound request as the door received it: headers (lower-case names) and the raw body bytes. */
export interface InboundRequest {
  headers: Readonly<Record<string, string | undefined>>;
  rawBody: Buffer;
}

/** Why an inbound request was refused (answered 401 without details beyond this). */
export class InboundRefused extends Error {
  override readonly name = 'InboundRefused';
}

/** A reply to post in a conversation. */
export interface OutboundReply {
  channel: string;
  threadId: string;
  text: string;
}

/** The platform's answer to a posted reply. */
/** The platform's answer to a posted reply; `retryAfterSeconds` when it was rate limited (try again then). */
export type PostResult = { ok: true; id: string | null } | { ok: false; error: string; retryAfterSeconds?: number };

/**
 * The outbound port of a chat platform's Web API: one call, made by an adapter through the
 * egress policy. `baseUrl` is the install's API base (Slack: https://slack.com/api).
 */
export interface ChatApi {
  postMessage(baseUrl: string, token: string, reply: OutboundReply): Promise<PostResult>;
  /** Exchanges an OAuth code for the install's bot token (Slack: `oauth.v2.access`). */
  oauthAccess(baseUrl: string, exchange: OAuthExchange): Promise<OAuthResult>;
}

export interface OAuthExchange {
  clientId: string;
  clientSecret: string;
  code: string;
  redirectUri: string;
}

export type OAuthResult = { ok: true; accessToken: string; workspace: string | null; workspaceName: string | null } | { ok: false; error: string };

/** One provider (Slack, …). */
export interface IntegrationProvider {
  readonly id: string;
  readonly displayName: string;
  /** The credential names an install may hold, e.g. bot_token, signing_secret, client_id, client_secret. */
  readonly credentialNames: readonly string[];
  /** The default authorization page of the platform's OAuth install (Slack: https://slack.com/oauth/v2/authorize). */
  readonly defaultAuthorizeUrl: string;
  /** The bot scopes an OAuth install asks for. */
  readonly oauthScopes: readonly string[];
  /** The default API base URL of the platform. */
  readonly defaultApiBaseUrl: string;
  /** Problems with the credentials given at install (empty: fine). Values are never echoed. */
  checkCredentials(credentials: Record<string, string>): string[];
  /**
   * Authenticates an inbound request with the install's credentials and reads it. Throws
   * InboundRefused when it is not the platform's (bad or missing signature, stale timestamp).
   */
  readInbound(req: InboundRequest, credentials: Record<string, string>, nowMs: number): InboundEvent;
  /** Posts a reply through the platform's Web API. */
  postReply(api: ChatApi, baseUrl: string, credentials: Record<string, string>, reply: OutboundReply): Promise<PostResult>;
}
