import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { anthropicModelList, parseAnthropicRequest, sendAnthropicError, sendAnthropicMessage, streamAnthropicMessage } from './anthropic.js';
import { assistantTurn } from './assistant.js';
import type { Conversation } from './conversation.js';
import { openAiModelList, parseOpenAiRequest, sendOpenAiCompletion, sendOpenAiError, streamOpenAiCompletion } from './openai.js';
import { turnProblems, type Turn } from './turn.js';
import { newId, readyTurn, sendJson, sleep, wordChunks } from './wire.js';

/**
 * The dev model: a local HTTP server that answers like a model provider, in both the Anthropic
 * Messages and the OpenAI chat/completions protocols. It answers from the request itself (see
 * assistant.ts) or, for tests, from a script of turns; it records every request it receives.
 * It is a stand-in for a model, not a model.
 */
export interface DevModelOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** When set, only this key is accepted; otherwise any non-empty key is. */
  apiKey?: string;
  /** What `GET /v1/models` lists per protocol; default `['dev-model']`. Requests may name any model. */
  models?: { anthropic?: string[]; openai?: string[] };
  /** Turns to answer with, in order, before the built-in assistant takes over. */
  script?: Turn[];
  /** Called once each answer is sent. */
  onResponse?: (r: RecordedRequest) => void;
}

export type Protocol = 'anthropic' | 'openai';

export interface RecordedRequest {
  protocol: Protocol;
  method: string;
  path: string;
  /** Headers as received, with `authorization` and `x-api-key` values redacted. */
  headers: IncomingHttpHeaders;
  /** The parsed JSON body, or undefined. */
  body: unknown;
  /** Whether a scripted turn answered it (false: the built-in assistant, or no turn at all). */
  scripted: boolean;
  /** The answer's status, once sent. */
  status?: number;
  receivedAt: string;
}

export interface DevModelState {
  readonly requests: RecordedRequest[];
  /** Queues turns after those already waiting. Throws on a malformed turn, naming it. */
  script(turns: Turn[]): void;
  /** How many scripted turns are still waiting. */
  pending(): number;
  /** Drops waiting turns and recorded requests. */
  reset(): void;
}

export interface DevModelHandler extends DevModelState {
  handle(req: IncomingMessage, res: ServerResponse): void;
}

export interface DevModel extends DevModelState {
  url: string;
  /** For an `ant` / `ant-compatible` model card: the server's root, without /v1. */
  anthropicBaseUrl: string;
  /** For an `oai` / `oai-compatible` model card: with /v1. */
  openaiBaseUrl: string;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 32 * 1024 * 1024;
export const CONTROL_PREFIX = '/_dev-model';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
const sameKey = (a: string, b: string): boolean => timingSafeEqual(digest(a), digest(b));

const redacted = (h: IncomingHttpHeaders): IncomingHttpHeaders => {
  const out = { ...h };
  for (const k of ['authorization', 'x-api-key']) if (out[k] !== undefined) out[k] = '[redacted]';
  return out;
};

const presentedKey = (req: IncomingMessage): string | undefined => {
  const x = req.headers['x-api-key'];
  if (typeof x === 'string' && x.trim() !== '') return x.trim();
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return m ? m[1] : undefined;
};

class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const readBody = (req: IncomingMessage): Promise<unknown> =>
  new Promise((resolve, reject) => {
    let parts: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (c: Buffer) => {
      if (tooBig) return; // drained unread, so the 413 reaches the client
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        tooBig = true;
        parts = [];
        reject(new BodyError(413, `Request exceeds the maximum size of ${MAX_BODY_BYTES} bytes`));
        return;
      }
      parts.push(c);
    });
    req.on('error', reject);
    req.on('end', () => {
      if (tooBig) return;
      const text = Buffer.concat(parts).toString('utf8');
      if (text.trim() === '') return resolve(undefined);
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new BodyError(400, 'There was an issue with your request body: it is not valid JSON'));
      }
    });
  });

/** Which protocol a request speaks: by path, then for shared paths (`/v1/models`) by its headers. */
const protocolOf = (path: string, h: IncomingHttpHeaders): Protocol => {
  if (path === '/v1/messages') return 'anthropic';
  if (path === '/v1/chat/completions') return 'openai';
  return h['anthropic-version'] !== undefined || h['x-api-key'] !== undefined ? 'anthropic' : 'openai';
};

/** The request handler and its state, for mounting in another server (the test helper does). */
export const createDevModel = (options: DevModelOptions = {}): DevModelHandler => {
  const queue: Turn[] = [];
  const requests: RecordedRequest[] = [];
  const models = { anthropic: options.models?.anthropic ?? ['dev-model'], openai: options.models?.openai ?? ['dev-model'] };

  const script = (turns: Turn[]): void => {
    const problems = Array.isArray(turns) ? turns.flatMap((t, i) => turnProblems(t, `turns[${i}]`)) : ['turns: a list of turns'];
    if (problems.length > 0) throw new ScriptError(problems);
    queue.push(...turns);
  };
  if (options.script) script(options.script);

  const control = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    if (options.apiKey !== undefined) {
      const key = presentedKey(req);
      if (key === undefined || !sameKey(key, options.apiKey)) return sendJson(res, 401, { error: { message: 'The control endpoints need the server key (Authorization: Bearer or x-api-key)' } });
    }
    if (path === `${CONTROL_PREFIX}/script` && req.method === 'POST') {
      let body: unknown;
      try {
        body = await readBody(req);
      } catch (e) {
        return sendJson(res, e instanceof BodyError ? e.status : 400, { error: { message: e instanceof Error ? e.message : 'unreadable body' } });
      }
      const turns = (body as { turns?: unknown } | undefined)?.turns;
      try {
        script(turns as Turn[]);
      } catch (e) {
        if (e instanceof ScriptError) return sendJson(res, 400, { error: { message: 'The script is malformed', problems: e.problems } });
        throw e;
      }
      return sendJson(res, 200, { pending: queue.length });
    }
    if (path === `${CONTROL_PREFIX}/script` && req.method === 'GET') return sendJson(res, 200, { pending: queue.length });
    if (path === `${CONTROL_PREFIX}/script` && req.method === 'DELETE') {
      queue.length = 0;
      requests.length = 0;
      return sendJson(res, 200, { pending: 0 });
    }
    if (path === `${CONTROL_PREFIX}/requests` && req.method === 'GET') return sendJson(res, 200, { data: requests });
    return sendJson(res, 404, { error: { message: `No control route ${req.method} ${path}; see POST|GET|DELETE ${CONTROL_PREFIX}/script and GET ${CONTROL_PREFIX}/requests` } });
  };

  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0].replace(/\/+$/, '') || '/';
    if (path.startsWith(`${CONTROL_PREFIX}/`)) return control(req, res, path);
    const protocol = protocolOf(path, req.headers);
    const requestId = newId(protocol === 'anthropic' ? 'req_' : 'req-');
    const record: RecordedRequest = { protocol, method: req.method ?? 'GET', path, headers: redacted(req.headers), body: undefined, scripted: false, receivedAt: new Date().toISOString() };
    requests.push(record);
    res.on('finish', () => {
      record.status = res.statusCode;
      options.onResponse?.(record);
    });
    const fail = (status: number, message: string, param: string | null = null, code?: string | null): void =>
      protocol === 'anthropic' ? sendAnthropicError(res, { status, message }, requestId) : sendOpenAiError(res, { status, message }, requestId, param, code);

    const known = (path === '/v1/models' && req.method === 'GET') || ((path === '/v1/messages' || path === '/v1/chat/completions') && req.method === 'POST');
    if (!known) return fail(404, `Not found: ${req.method} ${path}. The dev model serves POST /v1/messages, POST /v1/chat/completions and GET /v1/models.`, null, 'unknown_url');

    const key = presentedKey(req);
    if (key === undefined) {
      return fail(
        401,
        protocol === 'anthropic'
          ? 'x-api-key header is required'
          : "You didn't provide an API key. Send it as 'Authorization: Bearer <key>' (any key works unless the dev model was started with --api-key).",
        null,
        null,
      );
    }
    if (options.apiKey !== undefined && !sameKey(key, options.apiKey)) return fail(401, protocol === 'anthropic' ? 'invalid x-api-key' : 'Incorrect API key provided.');
    if (protocol === 'anthropic' && (typeof req.headers['anthropic-version'] !== 'string' || req.headers['anthropic-version'] === '')) {
      return fail(400, 'anthropic-version: header is required');
    }
    if (path === '/v1/models')
      return sendJson(res, 200, protocol === 'anthropic' ? anthropicModelList(models.anthropic) : openAiModelList(models.openai), {
        [protocol === 'anthropic' ? 'request-id' : 'x-request-id']: requestId,
      });

    let body: unknown;
    try {
      body = await readBody(req);
    } catch (e) {
      if (e instanceof BodyError) return fail(e.status, e.message);
      throw e;
    }
    record.body = body;
    let conversation: Conversation;
    let stream: boolean;
    let includeUsage = false;
    if (protocol === 'anthropic') {
      const parsed = parseAnthropicRequest(body);
      if ('problem' in parsed) return fail(400, parsed.problem);
      ({ conversation, stream } = parsed);
    } else {
      const parsed = parseOpenAiRequest(body);
      if ('problem' in parsed) return fail(400, parsed.problem, parsed.param, parsed.code);
      ({ conversation, stream, includeUsage } = parsed);
    }

    const scripted = queue.shift();
    record.scripted = scripted !== undefined;
    let turn: Turn;
    if (scripted) turn = scripted;
    else {
      const answer = assistantTurn(conversation);
      turn = { ...answer, text: typeof answer.text === 'string' ? wordChunks(answer.text) : answer.text };
    }
    await sleep(turn.delayMs ?? 0, res);
    if (res.destroyed) return;
    if (turn.error) return protocol === 'anthropic' ? sendAnthropicError(res, turn.error, requestId) : sendOpenAiError(res, turn.error, requestId);
    const ready = readyTurn(turn, conversation, protocol === 'anthropic' ? 'toolu_' : 'call_');
    if (protocol === 'anthropic') {
      if (stream) await streamAnthropicMessage(res, ready, conversation.model, requestId);
      else sendAnthropicMessage(res, ready, conversation.model, requestId);
    } else if (stream) await streamOpenAiCompletion(res, ready, conversation.model, requestId, includeUsage);
    else sendOpenAiCompletion(res, ready, conversation.model, requestId);
  };

  return {
    requests,
    script,
    pending: () => queue.length,
    reset: () => {
      queue.length = 0;
      requests.length = 0;
    },
    handle: (req, res) => {
      serve(req, res).catch(() => {
        if (!res.headersSent) sendJson(res, 500, { error: { message: 'The dev model failed to answer' } });
        else res.destroy();
      });
    },
  };
};

export class ScriptError extends Error {
  constructor(readonly problems: string[]) {
    super(`The script is malformed: ${problems.join('; ')}`);
  }
}

/** Starts the dev model on host:port (default 127.0.0.1, a free port). */
export const startDevModel = async (options: DevModelOptions = {}): Promise<DevModel> => {
  const handler = createDevModel(options);
  const server = createServer((req, res) => handler.handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  // A wildcard bind is reached on loopback from this machine.
  const host = address === '0.0.0.0' ? '127.0.0.1' : address === '::' ? '[::1]' : address.includes(':') ? `[${address}]` : address;
  const url = `http://${host}:${port}`;
  return {
    url,
    anthropicBaseUrl: url,
    openaiBaseUrl: `${url}/v1`,
    get requests() {
      return handler.requests;
    },
    script: handler.script,
    pending: handler.pending,
    reset: handler.reset,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};
