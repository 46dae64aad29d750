import { STATUS_CODES } from 'node:http';
import { connect, isIP, type OnReadOpts, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import { nodeFetch } from './node-fetch.js';

/** Bytes read from the socket at a time, into one buffer reused for the whole download. */
const READ_BUFFER = 1 << 20;
/** The response head may not be longer than this. */
const MAX_HEAD = 64 * 1024;
/** A body read whole into memory (an error, a redirect) may not be longer than this; longer ones are sent again through nodeFetch. */
const MAX_SMALL_BODY = 1 << 20;
const NULL_BODY = new Set([101, 204, 205, 304]);

/** A 200 body read straight from its socket: the pieces of one reused buffer, handed to a taker (see `each`). */
export interface RawBody {
  /** The body's length (Content-Length). */
  readonly length: number;
  /**
   * Hands every piece to `take`, in order; a piece is only valid until `take` returns (or the promise
   * it answers settles: nothing is read into it meanwhile). Resolves after the last byte; rejects when
   * `take` throws or rejects, or the connection fails or closes early. The connection is closed after.
   */
  each(take: (piece: Uint8Array) => Promise<void> | undefined): Promise<void>;
  /** Closes the connection without reading (the body is not wanted). */
  destroy(): void;
}

const rawBodies = new WeakMap<Response, RawBody>();

/** The raw body of a response `downloadFetch` made, once; else undefined (then read `body`). */
export const takeRawBody = (res: Response): RawBody | undefined => {
  const b = rawBodies.get(res);
  rawBodies.delete(res);
  return b;
};

interface Head {
  status: number;
  statusText: string;
  headers: Headers;
}

/** Parses a response head (status line and header lines, without the blank line). */
const parseHead = (text: string): Head | undefined => {
  const lines = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0]);
  if (!m) return undefined;
  const headers = new Headers();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined;
    try {
      headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    } catch {
      // A name or value Headers refuses (it throws inside the socket's read callback otherwise).
      return undefined;
    }
  }
  const status = Number(m[1]);
  return { status, statusText: m[2] ?? STATUS_CODES[status] ?? '', headers };
};

const hasLineBreak = (s: string) => /[\r\n]/.test(s);

/**
 * One GET over a connection of its own, its bytes read straight into one reused buffer (`onread`),
 * with no HTTP parser, stream or allocation per piece: node:http's receive path costs about a CPU
 * second per GiB on the bench machine, against tens of milliseconds for the socket reads alone.
 * Over https the same runs on a TLS socket of node:tls's (its default trust: the bundled CAs and
 * NODE_EXTRA_CA_CERTS, as node:https has; the name is verified), whose decrypted records land in the
 * same buffer. Only for large downloads (the connection is not kept alive). A 200 with a Content-Length and no
 * Transfer-Encoding is answered at once, its body left for `takeRawBody`; any other answer with a
 * Content-Length of at most MAX_SMALL_BODY is read into memory and answered as a plain Response;
 * anything else (chunked, no length, a long error page) is asked again through nodeFetch.
 */
class RawGet {
  private readonly socket: Socket;
  private readonly buf = Buffer.allocUnsafeSlow(READ_BUFFER);
  private headParts: Buffer[] = [];
  private headLength = 0;
  private head: (Head & { length: number }) | undefined;
  /** Body bytes read while no taker could have them (copied: the read buffer is reused): with the head, a small body's, and what a TLS socket still hands over after it was paused. */
  private queued: Buffer[] = [];
  private received = 0;
  private taker: ((piece: Uint8Array) => Promise<void> | undefined) | undefined;
  /** The taker asked to wait (the socket is paused): pieces read meanwhile are queued. */
  private waiting = false;
  /** The memory of the piece the waiting taker holds (valid until its promise settles). */
  private held: ArrayBufferLike | undefined;
  /** Where reads land while the taker holds a piece of `buf` (a TLS socket reads on after a pause). */
  private spare: Buffer | undefined;
  private settle: { resolve(): void; reject(e: Error): void } | undefined;
  private headWaiter: { resolve(head: Head & { length: number }): void; reject(e: Error): void } | undefined;
  private failure: Error | undefined;
  private done = false;

  constructor(url: URL, headers: Record<string, string>) {
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const onread: OnReadOpts = { buffer: () => this.nextReadBuffer(), callback: (n: number, buf: Uint8Array) => this.onRead(n, buf) };
    if (url.protocol === 'https:') {
      // tls.connect takes onread as net.connect does (documented; missing from @types/node).
      const options: ConnectionOptions & { onread: OnReadOpts } = { host, port: Number(url.port) || 443, ...(isIP(host) ? {} : { servername: host }), onread };
      this.socket = connectTls(options);
    } else {
      this.socket = connect({ host, port: Number(url.port) || 80, onread });
    }
    const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`];
    for (const [name, value] of Object.entries(headers)) {
      if (name.toLowerCase() === 'host' || name.toLowerCase() === 'connection') continue;
      lines.push(`${name}: ${value}`);
    }
    lines.push('Connection: close', '', '');
    this.socket.write(lines.join('\r\n'));
    // Once every byte is in (some perhaps still queued), how the connection ends does not matter.
    this.socket.on('error', (e) => this.complete() || this.fail(e));
    this.socket.on('close', () => this.complete() || this.fail(new Error('the connection closed before the whole answer came')));
  }

  /** The response head, once it came. */
  headReady(): Promise<Head & { length: number }> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      if (this.head) return resolve(this.head);
      this.headWaiter = { resolve, reject };
    });
  }

  /** The rest of a small body, read into memory. */
  async readSmall(): Promise<Buffer> {
    const head = this.head!;
    if (this.received < head.length) {
      await new Promise<void>((resolve, reject) => {
        this.settle = { resolve, reject };
        this.socket.resume();
      });
    }
    this.close();
    return Buffer.concat(this.queued, head.length);
  }

  each(take: (piece: Uint8Array) => Promise<void> | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.settle = { resolve, reject };
      this.taker = take;
      this.drain();
    });
  }

  /** The buffer the next read lands in: never one the taker still holds a piece of. */
  private nextReadBuffer(): Buffer {
    if (this.waiting && this.held === this.buf.buffer) return (this.spare ??= Buffer.allocUnsafeSlow(READ_BUFFER));
    return this.buf;
  }

  private complete(): boolean {
    return this.head !== undefined && this.head.length >= 0 && this.received >= this.head.length;
  }

  /** Hands the queued pieces to the taker, then reads on (or finishes) unless it asked to wait. */
  private drain(): void {
    while (this.queued.length > 0) {
      const piece = this.queued.shift()!;
      if (!this.give(piece)) return;
    }
    if (this.complete()) this.finish();
    else this.socket.resume();
  }

  close(): void {
    this.done = true;
    this.socket.destroy();
  }

  /** Hands a piece to the taker: false when it must wait (the socket is paused until then) or failed. */
  private give(piece: Uint8Array): boolean {
    try {
      const waiting = this.taker!(piece);
      if (!waiting) return true;
      this.waiting = true;
      this.held = piece.buffer;
      this.socket.pause();
      waiting.then(
        () => {
          this.waiting = false;
          this.held = undefined;
          if (!this.done && !this.failure) this.drain();
        },
        (e: unknown) => this.fail(e instanceof Error ? e : new Error(String(e))),
      );
      return false;
    } catch (e) {
      this.fail(e instanceof Error ? e : new Error(String(e)));
      return false;
    }
  }

  private finish(): void {
    const settle = this.settle;
    this.settle = undefined;
    this.close();
    settle?.resolve();
  }

  /** Every read lands here; answering false pauses the socket. */
  private onRead(n: number, buf: Uint8Array): boolean {
    if (this.done || this.failure) return false;
    if (!this.head) return this.onHeadBytes(buf.subarray(0, n));
    if (this.head.length < 0) return false; // asked again through nodeFetch
    const want = this.head.length - this.received;
    const piece = buf.subarray(0, Math.min(n, want));
    this.received += piece.length;
    if (!this.taker || this.waiting) {
      // A small body being read (readSmall), or bytes with no taker ready: a TLS socket hands over
      // what it already decrypted even after the read callback paused it.
      this.queued.push(Buffer.from(piece));
      if (this.taker || !this.settle) return false;
      if (this.received >= this.head.length) {
        const settle = this.settle;
        this.settle = undefined;
        settle.resolve();
        return false;
      }
      return true;
    }
    if (!this.give(piece)) return false;
    if (this.received >= this.head.length) {
      this.finish();
      return false;
    }
    return true;
  }

  private onHeadBytes(bytes: Uint8Array): boolean {
    this.headParts.push(Buffer.from(bytes));
    this.headLength += bytes.length;
    const all = Buffer.concat(this.headParts, this.headLength);
    const end = all.indexOf('\r\n\r\n');
    if (end < 0) {
      if (this.headLength > MAX_HEAD) this.fail(new Error('the response head is too long'));
      return !this.failure;
    }
    this.headParts = [];
    const head = parseHead(all.subarray(0, end).toString('latin1'));
    if (!head) {
      this.fail(new Error('the answer is not an HTTP/1.1 response'));
      return false;
    }
    const lengthHeader = head.headers.get('content-length');
    const length = lengthHeader !== null && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : -1;
    this.head = { ...head, length: head.headers.has('transfer-encoding') || NULL_BODY.has(head.status) ? (NULL_BODY.has(head.status) ? 0 : -1) : length };
    const rest = all.subarray(end + 4);
    if (this.head.length >= 0) {
      const body = rest.subarray(0, this.head.length);
      this.received = body.length;
      this.queued.push(body);
    }
    const waiter = this.headWaiter;
    this.headWaiter = undefined;
    waiter?.resolve(this.head);
    return false; // paused until the body is asked for
  }

  private fail(e: Error): void {
    if (this.done || this.failure) return;
    this.failure = e;
    this.socket.destroy();
    this.headWaiter?.reject(e);
    this.headWaiter = undefined;
    this.settle?.reject(e);
    this.settle = undefined;
  }
}

/**
 * `fetch` for one large download (see RawGet): a GET over http or https with no body; anything else
 * goes to nodeFetch. A 200
 * with a Content-Length answers a Response whose body is for `takeRawBody` (its `body` is empty;
 * cancel it with `takeRawBody(res)?.destroy()` when it is not read). Redirects are not followed.
 */
export const downloadFetch: typeof globalThis.fetch = async (input, init) => {
  const url = new URL(input instanceof Request ? input.url : input.toString());
  const method = init?.method ?? 'GET';
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || method !== 'GET' || (init?.body !== undefined && init.body !== null) || init?.signal) {
    return nodeFetch(input, init);
  }
  const headers: Record<string, string> = {};
  new Headers(init?.headers).forEach((value, name) => (headers[name] = value));
  for (const [name, value] of Object.entries(headers)) if (hasLineBreak(name) || hasLineBreak(value)) throw new TypeError(`invalid header ${name}`);
  const get = new RawGet(url, headers);
  let head: Head & { length: number };
  try {
    head = await get.headReady();
  } catch (e) {
    // The shape fetch gives a connection failure: a TypeError with the cause attached.
    throw new TypeError('fetch failed', { cause: e });
  }
  if (head.status === 200 && head.length >= 0) {
    const res = new Response(null, { status: 200, statusText: head.statusText, headers: head.headers });
    rawBodies.set(res, { length: head.length, each: (take) => get.each(take), destroy: () => get.close() });
    return res;
  }
  if (head.length >= 0 && head.length <= MAX_SMALL_BODY) {
    let body: Buffer;
    try {
      body = await get.readSmall();
    } catch (e) {
      throw new TypeError('fetch failed', { cause: e });
    }
    return new Response(NULL_BODY.has(head.status) ? null : body, { status: head.status, statusText: head.statusText, headers: head.headers });
  }
  get.close();
  return nodeFetch(input, init);
};
