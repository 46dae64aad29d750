import { request as httpRequest, STATUS_CODES, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';

interface NodeBody {
  stream: Readable | undefined;
  /** The web stream made for `body`: null once the Node stream was taken or when there is no body. */
  web: ReadableStream<Uint8Array> | null | undefined;
}

/** The responses nodeFetch made, with their Node streams. */
const nodeBodies = new WeakMap<Response, NodeBody>();

/**
 * A response whose body is still the Node stream node:http read it into. Reading that stream directly
 * costs far less per piece than a web ReadableStream (no promise and no byte-stream controller per
 * 64 KiB piece). `body`, `text()`, `json()` and `arrayBuffer()` still work (from a web stream made
 * on first use) for every other reader.
 */
const nodeBodyResponse = (stream: Readable | undefined, status: number, statusText: string | undefined, headers: Headers): Response => {
  const res = new Response(null, { status, statusText: statusText ?? STATUS_CODES[status] ?? '', headers });
  const b: NodeBody = { stream, web: undefined };
  nodeBodies.set(res, b);
  const web = (): ReadableStream<Uint8Array> | null => {
    if (b.web === undefined) b.web = b.stream ? (Readable.toWeb(b.stream) as ReadableStream<Uint8Array>) : null;
    return b.web;
  };
  const text = (): Promise<string> => new Response(web()).text();
  Object.defineProperties(res, {
    body: { get: web },
    text: { value: text },
    json: { value: async (): Promise<unknown> => JSON.parse(await text()) as unknown },
    arrayBuffer: { value: (): Promise<ArrayBuffer> => new Response(web()).arrayBuffer() },
  });
  return res;
};

/** The Node stream of a response `nodeFetch` made, once, for a reader that takes every piece; else undefined (then read `body`). */
export const takeNodeBody = (res: Response): Readable | undefined => {
  const b = nodeBodies.get(res);
  if (!b || b.web !== undefined) return undefined;
  b.web = null;
  const s = b.stream;
  b.stream = undefined;
  return s;
};

/** Every header as sent (a name sent twice is appended twice). */
const headersOf = (raw: string[]): Headers => {
  const h = new Headers();
  for (let i = 0; i + 1 < raw.length; i += 2) h.append(raw[i], raw[i + 1]);
  return h;
};

/** Bodyless statuses: a Response may not be made with a body for these. */
const NULL_BODY = new Set([101, 204, 205, 304]);

/**
 * `fetch` for the registry transport when none is given: requests without a body (GET, HEAD,
 * DELETE: pulls, probes, token requests) go through node:http(s) (the global agents, which keep
 * connections alive), whose answer keeps its Node stream (see nodeBodyResponse); requests with a body
 * go through the global fetch. Redirects are never followed here (the transport follows them itself,
 * as with `redirect: 'manual'`).
 */
export const nodeFetch: typeof globalThis.fetch = async (input, init) => {
  if (init?.body !== undefined && init.body !== null) return globalThis.fetch(input, init);
  const url = new URL(input instanceof Request ? input.url : input.toString());
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return globalThis.fetch(input, init);
  const headers: Record<string, string> = {};
  new Headers(init?.headers).forEach((value, name) => (headers[name] = value));
  const method = init?.method ?? 'GET';
  let res: IncomingMessage;
  try {
    res = await new Promise<IncomingMessage>((resolve, reject) => {
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(url, { method, headers, ...(init?.signal ? { signal: init.signal } : {}) }, resolve);
      req.once('error', reject);
      req.end();
    });
  } catch (e) {
    // The shape fetch gives a connection failure: a TypeError with the cause (its code) attached.
    throw new TypeError('fetch failed', { cause: e });
  }
  const status = res.statusCode ?? 0;
  const hasBody = !NULL_BODY.has(status) && method !== 'HEAD';
  if (!hasBody) res.resume();
  return nodeBodyResponse(hasBody ? res : undefined, status, res.statusMessage, headersOf(res.rawHeaders));
};
