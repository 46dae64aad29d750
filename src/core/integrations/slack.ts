import { createHmac, timingSafeEqual } from 'node:crypto';
import { InboundRefused, type ChatApi, type InboundEvent, type InboundRequest, type IntegrationProvider, type OutboundReply, type PostResult } from './provider.js';

/** Slack accepts a request signed at most five minutes ago (its documented replay window). */
export const SLACK_TOLERANCE_SECONDS = 5 * 60;

/** Slack's v0 request signature: `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{raw body}` with the signing secret. */
export const slackSignature = (signingSecret: string, timestamp: string, rawBody: Buffer | string): string =>
  'v0=' + createHmac('sha256', signingSecret).update(`v0:${timestamp}:`).update(rawBody).digest('hex');

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * Slack (Events API + Web API). An install by credentials holds the app's bot token (`xoxb-…`)
 * and its signing secret. Inbound events are verified as Slack documents ("Verifying requests
 * from Slack"): the `X-Slack-Signature` of the raw body and `X-Slack-Request-Timestamp`, within
 * five minutes, compared in constant time. A user's message in a channel (or a mention of the
 * bot) becomes a message; the bot's own messages and edits are ignored so replies do not loop.
 */
export class SlackProvider implements IntegrationProvider {
  readonly id = 'slack';
  readonly displayName = 'Slack';
  readonly credentialNames = ['bot_token', 'signing_secret', 'client_id', 'client_secret'] as const;
  readonly defaultApiBaseUrl = 'https://slack.com/api';
  readonly defaultAuthorizeUrl = 'https://slack.com/oauth/v2/authorize';
  readonly oauthScopes = ['chat:write', 'channels:history', 'groups:history', 'app_mentions:read'] as const;

  /** Either the bot token (an install by credentials) or the app's client id and secret (an OAuth install, which gets the token); always the signing secret. */
  checkCredentials(c: Record<string, string>): string[] {
    const problems: string[] = [];
    if (!c.signing_secret) problems.push('credentials.signing_secret is required (the app\u2019s signing secret)');
    const oauth = c.client_id !== undefined || c.client_secret !== undefined;
    if (oauth && (!c.client_id || !c.client_secret)) problems.push('credentials.client_id and credentials.client_secret go together (an OAuth install)');
    if (!oauth && !c.bot_token) problems.push('credentials.bot_token is required (the app\u2019s bot token, xoxb-\u2026), or client_id and client_secret for an OAuth install');
    return problems;
  }

  readInbound(req: InboundRequest, c: Record<string, string>, nowMs: number): InboundEvent {
    const ts = req.headers['x-slack-request-timestamp'];
    const sig = req.headers['x-slack-signature'];
    if (!ts || !sig) throw new InboundRefused('missing X-Slack-Signature or X-Slack-Request-Timestamp');
    if (!/^\d{1,12}$/.test(ts)) throw new InboundRefused('malformed X-Slack-Request-Timestamp');
    if (Math.abs(nowMs / 1000 - Number(ts)) > SLACK_TOLERANCE_SECONDS) throw new InboundRefused('stale X-Slack-Request-Timestamp (more than five minutes off)');
    const expected = Buffer.from(slackSignature(c.signing_secret ?? '', ts, req.rawBody), 'utf8');
    const given = Buffer.from(sig, 'utf8');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new InboundRefused('bad X-Slack-Signature');
    let body: unknown;
    try {
      body = JSON.parse(req.rawBody.toString('utf8'));
    } catch {
      return { kind: 'ignored', reason: 'not a JSON body' };
    }
    if (!isRecord(body)) return { kind: 'ignored', reason: 'not a JSON object' };
    if (body.type === 'url_verification') {
      const challenge = str(body.challenge);
      return challenge ? { kind: 'challenge', challenge } : { kind: 'ignored', reason: 'url_verification without a challenge' };
    }
    if (body.type !== 'event_callback' || !isRecord(body.event)) return { kind: 'ignored', reason: `event type ${String(body.type)}` };
    const e = body.event;
    if (e.type !== 'message' && e.type !== 'app_mention') return { kind: 'ignored', reason: `event ${String(e.type)}` };
    if (e.bot_id !== undefined || (e.subtype !== undefined && e.subtype !== 'thread_broadcast')) return { kind: 'ignored', reason: 'a bot message or a message change' };
    const channel = str(e.channel);
    const ts2 = str(e.ts);
    const text = typeof e.text === 'string' ? e.text : undefined;
    const eventId = str(body.event_id);
    if (!channel || !ts2 || text === undefined || !eventId) return { kind: 'ignored', reason: 'a message without channel, ts, text or event_id' };
    return { kind: 'message', eventId, workspace: str(body.team_id) ?? str(e.team) ?? null, channel, threadId: str(e.thread_ts) ?? ts2, text, user: str(e.user) ?? null };
  }

  postReply(api: ChatApi, baseUrl: string, c: Record<string, string>, reply: OutboundReply): Promise<PostResult> {
    return api.postMessage(baseUrl, c.bot_token ?? '', reply);
  }
}
