import type { ChatApi, OAuthExchange, OAuthResult, OutboundReply, PostResult } from '../../core/integrations/provider.js';

const TIMEOUT_MS = 15_000;

/**
 * Slack's Web API `chat.postMessage` (https://api.slack.com/methods/chat.postMessage), called
 * through the egress policy's fetch: a JSON body with the bot token as a Bearer header. Slack
 * answers HTTP 200 with `{ok:true, ts, …}` or `{ok:false, error}`; a 429 carries Retry-After.
 * The token is never part of an error this returns.
 */
export class SlackWebApi implements ChatApi {
  constructor(private readonly fetch: typeof globalThis.fetch) {}

  async postMessage(baseUrl: string, token: string, reply: OutboundReply): Promise<PostResult> {
    const res = await this.fetch(`${baseUrl.replace(/\/+$/, '')}/chat.postMessage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ channel: reply.channel, thread_ts: reply.threadId, text: reply.text }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const text = await res.text();
    if (res.status === 429) {
      const after = Number(res.headers.get('retry-after'));
      return { ok: false, error: 'ratelimited', retryAfterSeconds: Number.isFinite(after) && after >= 0 ? after : 1 };
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return { ok: false, error: `HTTP ${res.status}: not a JSON answer` };
    }
    const b = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
    if (b.ok === true) return { ok: true, id: typeof b.ts === 'string' ? b.ts : null };
    return { ok: false, error: typeof b.error === 'string' ? b.error.slice(0, 100) : `HTTP ${res.status}` };
  }

  /** `oauth.v2.access` (https://api.slack.com/methods/oauth.v2.access): a form with the app's client id and secret and the code; answers the bot token. */
  async oauthAccess(baseUrl: string, x: OAuthExchange): Promise<OAuthResult> {
    const res = await this.fetch(`${baseUrl.replace(/\/+$/, '')}/oauth.v2.access`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: x.clientId, client_secret: x.clientSecret, code: x.code, redirect_uri: x.redirectUri }).toString(),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    let body: unknown;
    try {
      body = JSON.parse(await res.text());
    } catch {
      return { ok: false, error: `HTTP ${res.status}: not a JSON answer` };
    }
    const b = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
    if (b.ok !== true) return { ok: false, error: typeof b.error === 'string' ? b.error.slice(0, 100) : `HTTP ${res.status}` };
    if (typeof b.access_token !== 'string' || b.access_token === '') return { ok: false, error: 'no access_token in the answer' };
    const team = typeof b.team === 'object' && b.team !== null ? (b.team as Record<string, unknown>) : {};
    return { ok: true, accessToken: b.access_token, workspace: typeof team.id === 'string' ? team.id : null, workspaceName: typeof team.name === 'string' ? team.name : null };
  }
}
