import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A message the fake Slack accepted through chat.postMessage. */
export interface PostedMessage {
  channel: string;
  thread_ts: string | null;
  text: string;
  ts: string;
  token: string;
}

/**
 * A local server that plays Slack's Web API (https://api.slack.com/web) for chat.postMessage,
 * as Slack documents it: POST `{base}/chat.postMessage` with the bot token as `Authorization:
 * Bearer`, a JSON (or form-encoded) body; HTTP 200 with `{ok:true, channel, ts, message}` or
 * `{ok:false, error}` (`not_authed`, `invalid_auth`, `channel_not_found`, `no_text`), and
 * `unknown_method` for anything else. Only the paid/outside service is faked: Agentry's side is real.
 */
export interface FakeSlack {
  baseUrl: string;
  /** Messages accepted, in order. */
  posted: PostedMessage[];
  /** Every call, accepted or not (method, whether it had a token, the error if refused). */
  calls: Array<{ method: string; error: string | null }>;
  /** Plays the user approving an OAuth install: a one-time code for this app and redirect URI (for oauth.v2.access). */
  issueCode(clientId: string, redirectUri: string): string;
  /** Answers the next `n` chat.postMessage calls with HTTP 429 and `Retry-After: seconds`, as Slack rate-limits. */
  rateLimitNext(n: number, seconds: number): void;
  /** Waits until `n` messages were posted. */
  waitPosted(n: number, timeoutMs?: number): Promise<PostedMessage[]>;
  close(): Promise<void>;
}

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });

export const startFakeSlack = async (opts: { botToken: string; channels: string[]; app?: { clientId: string; clientSecret: string; team: { id: string; name: string } } }): Promise<FakeSlack> => {
  const posted: PostedMessage[] = [];
  const tokens = new Set([opts.botToken]);
  const codes = new Map<string, { clientId: string; redirectUri: string }>();
  let limited = { n: 0, seconds: 1 };
  const calls: FakeSlack['calls'] = [];
  let counter = 0;
  const server: Server = createServer((req, res) => {
    void (async () => {
      const answer = (body: Record<string, unknown>) => {
        calls.push({ method: (req.url ?? '').split('?')[0], error: body.ok === true ? null : String(body.error) });
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(body));
      };
      const raw = await readBody(req);
      const path = (req.url ?? '').split('?')[0];
      if (req.method !== 'POST' || (path !== '/api/chat.postMessage' && path !== '/api/oauth.v2.access')) return answer({ ok: false, error: 'unknown_method' });
      const ctype = req.headers['content-type'] ?? '';
      let args: Record<string, unknown>;
      if (ctype.startsWith('application/json')) {
        try {
          args = JSON.parse(raw) as Record<string, unknown>;
        } catch {
          return answer({ ok: false, error: 'invalid_json' });
        }
      } else args = Object.fromEntries(new URLSearchParams(raw));
      if (path === '/api/oauth.v2.access') {
        // oauth.v2.access: client credentials in the form (or Basic auth), a one-time code, the same redirect_uri.
        const app = opts.app;
        if (!app || args.client_id !== app.clientId) return answer({ ok: false, error: 'invalid_client_id' });
        if (args.client_secret !== app.clientSecret) return answer({ ok: false, error: 'bad_client_secret' });
        const grant = codes.get(String(args.code ?? ''));
        if (!grant || grant.clientId !== app.clientId) return answer({ ok: false, error: 'invalid_code' });
        codes.delete(String(args.code));
        if (args.redirect_uri !== grant.redirectUri) return answer({ ok: false, error: 'bad_redirect_uri' });
        const token = `xoxb-${app.team.id}-${randomBytes(8).toString('hex')}`;
        tokens.add(token);
        return answer({
          ok: true,
          access_token: token,
          token_type: 'bot',
          scope: 'chat:write,channels:history',
          bot_user_id: 'U0BOT',
          app_id: 'A0APP',
          team: app.team,
          enterprise: null,
          authed_user: { id: 'U0USER' },
          is_enterprise_install: false,
        });
      }
      if (limited.n > 0) {
        limited.n -= 1;
        calls.push({ method: path, error: 'ratelimited' });
        res.writeHead(429, { 'content-type': 'application/json; charset=utf-8', 'retry-after': String(limited.seconds) });
        res.end(JSON.stringify({ ok: false, error: 'ratelimited' }));
        return;
      }
      const auth = req.headers.authorization ?? '';
      const token = auth.startsWith('Bearer ') ? auth.slice(7) : typeof args.token === 'string' ? args.token : '';
      if (!token) return answer({ ok: false, error: 'not_authed' });
      if (!tokens.has(token)) return answer({ ok: false, error: 'invalid_auth' });
      const channel = String(args.channel ?? '');
      if (!opts.channels.includes(channel)) return answer({ ok: false, error: 'channel_not_found' });
      const text = typeof args.text === 'string' ? args.text : '';
      if (!text && !args.blocks && !args.attachments) return answer({ ok: false, error: 'no_text' });
      counter += 1;
      const ts = `${Math.floor(Date.now() / 1000)}.${String(counter).padStart(6, '0')}`;
      const thread_ts = typeof args.thread_ts === 'string' ? args.thread_ts : null;
      posted.push({ channel, thread_ts, text, ts, token });
      return answer({ ok: true, channel, ts, message: { type: 'message', subtype: 'bot_message', text, ts, thread_ts: thread_ts ?? undefined, bot_id: 'B0FAKE' } });
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/api`,
    posted,
    calls,
    rateLimitNext(n, seconds) {
      limited = { n, seconds };
    },
    issueCode(clientId, redirectUri) {
      const code = `${Date.now()}.${randomBytes(8).toString('hex')}`;
      codes.set(code, { clientId, redirectUri });
      return code;
    },
    async waitPosted(n, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (posted.length < n) {
        if (Date.now() > deadline) throw new Error(`only ${posted.length} of ${n} messages posted; calls: ${JSON.stringify(calls)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return posted.slice(0, n);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};

/** Signs a body as Slack does (v0 HMAC-SHA256 of `v0:{timestamp}:{body}`): the headers of an Events API delivery. */
export const slackHeaders = (signingSecret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> => ({
  'content-type': 'application/json',
  'x-slack-request-timestamp': String(timestamp),
  'x-slack-signature': 'v0=' + createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex'),
});
