import { STATUS_CODES } from 'node:http';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';

interface NodeBody {
  stream: Readable | undefined;
  /** The web stream made for `body`: null once the Node stream was taken or when there is no body. */
  web: ReadableStream<Uint8Array> | null | undefined;
}

/** The responses nodeFetch made, with their Node streams. */
const nodeBodies = new WeakMap<Response, NodeBody>();

/**
 * A response whose body is still the Node stream undici read it into. Reading that stream directly
 * costs far less per piece than a web ReadableStream (no promise and no byte-stream controller per
 * 64 KiB piece). `body`, `text()`, `json()` and `arrayBuffer()` still work (from a web stream made
 * on first use) for every other reader.
 */
const nodeBodyResponse = (stream: Readable | undefined, status: number, headers: Headers): Response => {
  const res = new Response(null, { status, statusText: STATUS_CODES[status] ?? '', headers });
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

const headersOf = (raw: Record<string, string | string[] | undefined>): Headers => {
  const h = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (Array.isArray(value)) for (const v of value) h.append(name, v);
    else if (value !== undefined) h.append(name, value);
  }
  return h;
};

/** undici is loaded on the first request, so a command that never speaks to a registry does not pay for it at start. */
let undici: Promise<typeof import('undici')> | undefined;

/** Bodyless statuses: a Response may not be made with a body for these. */
const NULL_BODY = new Set([101, 204, 205, 304]);

/**
 * `fetch` for the registry transport when none is given: requests without a body (GET, HEAD,
 * DELETE: pulls, probes, token requests) go through undici's `request`, whose answer keeps its
 * Node stream (see NodeBodyResponse); requests with a body go through the global fetch. Redirects
 * are never followed here (the transport follows them itself, as with `redirect: 'manual'`).
 */
export const nodeFetch: typeof globalThis.fetch = async (input, init) => {
  if (init?.body !== undefined && init.body !== null) return globalThis.fetch(input, init);
  const url = input instanceof Request ? input.url : input.toString();
  const headers: Record<string, string> = {};
  new Headers(init?.headers).forEach((value, name) => (headers[name] = value));
  try {
    undici ??= import('undici');
    const res = await (await undici).request(url, { method: (init?.method ?? 'GET') as Dispatcher.HttpMethod, headers, signal: init?.signal ?? undefined });
    const hasBody = !NULL_BODY.has(res.statusCode) && init?.method !== 'HEAD';
    if (!hasBody) res.body.resume();
    return nodeBodyResponse(hasBody ? res.body : undefined, res.statusCode, headersOf(res.headers));
  } catch (e) {
    // The shape fetch gives a connection failure: a TypeError with the cause (its code) attached.
    throw new TypeError('fetch failed', { cause: e });
  }
};
