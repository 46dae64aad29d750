import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { badRequest } from '../../core/errors.js';
import { pullArtifact, pushArtifact, pushIndex, type PulledArtifact, type PullArtifactOptions, type PushArtifactInput, type PushedArtifact, type PushIndexInput } from './artifacts.js';
import { copyArtifact, type CopyOptions, type CopyResult } from './copy.js';
import type { CredentialResolver, Credentials } from './credentials.js';
import { digestFile, digestToTag, hashAlgorithmOf, hasherFor, isDigest, sha256Digest } from './digest.js';
import { FileSink, startFileSinkWorker } from './file-sink.js';
import { FlushBehind } from '../../core/blobs/flush-behind.js';
import { MANIFEST_ACCEPT, OCI_INDEX } from './media-types.js';
import { integrityError, isOciClientError, OciClientError, type OciClientErrorContext } from './oci-client-error.js';
import { formatReference, manifestSelector, parseReference, parseRegistry, type OciReference, type RegistryEndpoint } from './reference.js';
import { DEFAULT_RETRY, retryDelayMs, wait, type RetryPolicy } from './retry.js';
import { takeNodeBody } from './node-fetch.js';
import { takeRawBody } from './raw-download.js';
import { bodyOf, eachPiece, type BlobBytes } from './streams.js';
import { RegistryTransport, type TransportRequest } from './transport.js';
import type { Descriptor, ImageIndex, Manifest } from './types.js';

export interface OciClientOptions {
  /** Credentials per registry host, or a function answering them (undefined: anonymous). */
  credentials?: Record<string, Credentials> | CredentialResolver;
  /** Speak plain HTTP to registries without a scheme in their reference (loopback hosts always do). */
  plainHttp?: boolean;
  retry?: Partial<RetryPolicy>;
  /** Blobs up to this size go up in one PUT; larger ones in PATCH chunks of `chunkSize`. Default 16 MiB. */
  monolithicLimit?: number;
  /** Size of each PATCH of a chunked upload (raised to the registry's OCI-Chunk-Min-Length). Default 16 MiB. */
  chunkSize?: number;
  /** Blobs moved at once by pushArtifact / pullArtifact / copy. Default 4. */
  concurrency?: number;
  /** Largest manifest accepted (the spec's limit is 4 MiB). */
  maxManifestBytes?: number;
  userAgent?: string;
  /** How requests are sent (default: node:http for bodyless requests, see node-fetch.ts): the server passes its egress policy's. */
  fetch?: typeof globalThis.fetch;
}

/** A blob to push: bytes in memory or a file, with its digest and size when already known. */
export type BlobSource = BlobBytes & { digest?: string; size?: number };

export interface PushBlobOptions {
  /** Mount the blob from this repository of the same registry instead of uploading it, when the registry can. */
  mountFrom?: string;
  /** Called with the bytes sent (negative when a failed try is undone before a retry). */
  onBytes?: (n: number) => void;
}

/** What happened to a pushed blob: already there, mounted from another repository, or uploaded. */
export interface PushedBlob {
  digest: string;
  size: number;
  outcome: 'exists' | 'mounted' | 'uploaded';
}

export interface FetchedManifest {
  /** The manifest's digest (verified against its bytes). */
  digest: string;
  mediaType: string;
  /** The bytes exactly as the registry sent them. */
  bytes: Uint8Array;
  manifest: Manifest;
}

export interface ListOptions {
  /** Entries per request (`n`); the registry may send fewer. */
  pageSize?: number;
  /** Stop after this many entries. */
  limit?: number;
  /** Start after this entry (`last`). */
  last?: string;
}

export interface Referrers {
  manifests: Descriptor[];
  /** `referrers-api` when the registry serves /referrers, `tag-schema` when read from the `sha256-…` tag. */
  source: 'referrers-api' | 'tag-schema';
  /** The registry applied the artifactType filter itself (OCI-Filters-Applied); the client filters otherwise. */
  filtered: boolean;
}

const MIB = 1024 * 1024;
/** Blobs up to this size try the one-request upload (a registry without it drops the body: keep that small). */
const SINGLE_POST_LIMIT = MIB;
/** Bytes of a download that may wait for the disk before the download pauses. */
const WRITE_AHEAD = 8 * MIB;
/** Blobs from this size on are hashed and written to their file on a worker thread while they download (see FileSink). */
const SINK_MIN = 4 * MIB;
const repoScope = (repository: string, actions: string): string => `repository:${repository}:${actions}`;

/**
 * A client for any OCI distribution registry (v1.1, and Docker Registry v2): blobs (monolithic and
 * chunked upload streamed from disk, HEAD to skip what exists, cross-repository mount), manifests,
 * indexes and artifact manifests, tags and catalog with Link pagination, referrers (API, or the tag
 * schema fallback), deletes. Every pulled byte is verified against its digest while it streams.
 * Transient failures are retried with backoff (a failed upload restarts: no resume). Errors are
 * `OciClientError` values naming the registry, repository, operation and status.
 *
 * @example
 *   const oci = new OciClient({ credentials: { 'ghcr.io': { username: 'me', password: token } } });
 *   const pushed = await oci.pushArtifact({
 *     ref: 'ghcr.io/me/agent:1.0.0',
 *     artifactType: 'application/vnd.alquimia.registry.v1',
 *     layers: [{ mediaType: 'application/yaml', path: './agent.yaml' }],
 *   });
 *   const pulled = await oci.pullArtifact('ghcr.io/me/agent:1.0.0', { dir: './out' });
 *   const tags = await oci.listTags('ghcr.io/me/agent');
 */
export class OciClient {
  readonly retry: RetryPolicy;
  readonly monolithicLimit: number;
  readonly chunkSize: number;
  readonly concurrency: number;
  readonly maxManifestBytes: number;
  private readonly transports = new Map<string, Promise<RegistryTransport>>();
  /** Per registry: whether it takes the one-request monolithic upload (unknown until tried). */
  private readonly singlePost = new Map<string, boolean>();

  constructor(private readonly opts: OciClientOptions = {}) {
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.chunkSize = Math.max(1, opts.chunkSize ?? 16 * MIB);
    this.monolithicLimit = opts.monolithicLimit ?? this.chunkSize;
    this.concurrency = Math.max(1, opts.concurrency ?? 4);
    this.maxManifestBytes = opts.maxManifestBytes ?? 4 * MIB;
  }

  /** Parses a reference with this client's plain-HTTP setting. */
  ref(raw: string | OciReference, opts: { allowBare?: boolean } = {}): OciReference {
    return typeof raw === 'string' ? parseReference(raw, { plainHttp: this.opts.plainHttp, allowBare: opts.allowBare }) : raw;
  }

  registry(raw: string | RegistryEndpoint): RegistryEndpoint {
    return typeof raw === 'string' ? parseRegistry(raw, { plainHttp: this.opts.plainHttp }) : raw;
  }

  /** The transport (auth state, token cache) of a registry, made once per base URL. */
  private transport(endpoint: RegistryEndpoint): Promise<RegistryTransport> {
    let t = this.transports.get(endpoint.baseUrl);
    if (!t) {
      t = (async () => {
        const c = this.opts.credentials;
        const credentials = typeof c === 'function' ? await c(endpoint.host) : c?.[endpoint.host];
        return new RegistryTransport(endpoint, { credentials, retry: this.retry, userAgent: this.opts.userAgent, fetch: this.opts.fetch });
      })();
      this.transports.set(endpoint.baseUrl, t);
      t.catch(() => this.transports.delete(endpoint.baseUrl));
    }
    return t;
  }

  private async send(endpoint: RegistryEndpoint, req: TransportRequest): Promise<Response> {
    return (await this.transport(endpoint)).send(req);
  }

  private ctx(ref: { registry: RegistryEndpoint; repository?: string }, operation: string): OciClientErrorContext {
    return { registry: ref.registry.host, ...(ref.repository ? { repository: ref.repository } : {}), operation };
  }

  /** GET /v2/: the registry speaks the distribution API and (after any login) lets us in. */
  async ping(registry: string | RegistryEndpoint): Promise<void> {
    const endpoint = this.registry(registry);
    const res = await this.send(endpoint, { method: 'GET', url: '/v2/', scopes: [], ok: [200], ctx: { registry: endpoint.host, operation: 'check the API version' } });
    await res.body?.cancel();
  }

  // ---- blobs ----

  /** HEAD on a blob: its size when the repository has it, else undefined. */
  async blobSize(repo: string | OciReference, digest: string): Promise<number | undefined> {
    const ref = this.ref(repo, { allowBare: true });
    const res = await this.send(ref.registry, {
      method: 'HEAD',
      url: `/v2/${ref.repository}/blobs/${digest}`,
      scopes: [repoScope(ref.repository, 'pull')],
      ok: [200, 404],
      ctx: this.ctx(ref, `check blob ${digest}`),
    });
    await res.body?.cancel();
    if (res.status === 404) return undefined;
    const length = Number(res.headers.get('content-length'));
    return Number.isFinite(length) ? length : 0;
  }

  /**
   * Pushes a blob unless the repository has it: mounts it from `mountFrom` when the registry can,
   * else uploads it in one PUT (up to `monolithicLimit`) or in PATCH chunks. A transient failure
   * restarts the upload from the beginning (with backoff), up to the retry policy's count.
   */
  async pushBlob(repo: string | OciReference, source: BlobSource, opts: PushBlobOptions = {}): Promise<PushedBlob> {
    const ref = this.ref(repo, { allowBare: true });
    const { digest, size } = await describeBlob(source);
    const ctx = this.ctx(ref, `push blob ${digest}`);
    for (let attempt = 0; ; attempt += 1) {
      let sent = 0;
      const onBytes = (n: number) => {
        sent += n;
        opts.onBytes?.(n);
      };
      try {
        return await this.pushBlobOnce(ref, source, digest, size, opts.mountFrom, onBytes, ctx);
      } catch (e) {
        if (sent) opts.onBytes?.(-sent);
        if (!isOciClientError(e) || !e.transient || attempt >= this.retry.retries) throw e;
        await wait(retryDelayMs(this.retry, attempt, e.retryAfterSeconds));
      }
    }
  }

  private async pushBlobOnce(
    ref: OciReference,
    source: BlobSource,
    digest: string,
    size: number,
    mountFrom: string | undefined,
    onBytes: (n: number) => void,
    ctx: OciClientErrorContext,
  ): Promise<PushedBlob> {
    if ((await this.blobSize(ref, digest)) !== undefined) {
      onBytes(size);
      return { digest, size, outcome: 'exists' };
    }
    const uploads = `/v2/${ref.repository}/blobs/uploads/`;
    const push = repoScope(ref.repository, 'pull,push');
    let started: Response | undefined;
    const mounting = mountFrom !== undefined && mountFrom !== ref.repository;
    if (!mounting && size <= SINGLE_POST_LIMIT && this.singlePost.get(ref.registry.baseUrl) !== false) {
      // The spec's one-request monolithic upload (POST ?digest= with the body). A registry without it
      // answers 202 and an upload session (the body is dropped), or refuses: remembered, never tried again.
      let res: Response | undefined;
      let sent = 0;
      const counted = (n: number) => {
        sent += n;
        onBytes(n);
      };
      try {
        res = await this.send(ref.registry, {
          method: 'POST',
          url: `${uploads}?digest=${encodeURIComponent(digest)}`,
          scopes: [push],
          headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
          body: () => bodyOf(source, 0, size, counted),
          ok: [201, 202],
          ctx,
          retry: false,
        });
      } catch (e) {
        if (!isOciClientError(e) || ![400, 405, 415].includes(e.httpStatus) || this.singlePost.get(ref.registry.baseUrl) === true) throw e;
        this.singlePost.set(ref.registry.baseUrl, false);
      }
      await res?.body?.cancel();
      if (res?.status === 201) {
        this.singlePost.set(ref.registry.baseUrl, true);
        return { digest, size, outcome: 'uploaded' };
      }
      this.singlePost.set(ref.registry.baseUrl, false);
      onBytes(-sent);
      started = res;
    }
    if (!started && mounting && mountFrom) {
      started = await this.send(ref.registry, {
        method: 'POST',
        url: `${uploads}?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(mountFrom)}`,
        scopes: [push, repoScope(mountFrom, 'pull')],
        headers: { 'content-length': '0' },
        ok: [201, 202],
        ctx,
      });
      await started.body?.cancel();
      if (started.status === 201) {
        onBytes(size);
        return { digest, size, outcome: 'mounted' };
      }
    } else if (!started) {
      started = await this.send(ref.registry, { method: 'POST', url: uploads, scopes: [push], headers: { 'content-length': '0' }, ok: [202], ctx });
      await started.body?.cancel();
    }
    if (!started) throw integrityError(ctx, 'no upload session');
    let location = uploadLocation(started, ref, ctx);
    if (size <= this.monolithicLimit) {
      const done = await this.send(ref.registry, {
        method: 'PUT',
        url: withDigest(location, digest),
        scopes: [push],
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
        body: () => bodyOf(source, 0, size, onBytes),
        ok: [201],
        ctx,
        retry: false,
      });
      await done.body?.cancel();
      return { digest, size, outcome: 'uploaded' };
    }
    const minChunk = Number(started.headers.get('oci-chunk-min-length')) || 0;
    const chunk = Math.max(this.chunkSize, minChunk);
    for (let start = 0; start < size; start += chunk) {
      const end = Math.min(size, start + chunk);
      const res = await this.send(ref.registry, {
        method: 'PATCH',
        url: location,
        scopes: [push],
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(end - start), 'content-range': `${start}-${end - 1}` },
        body: () => bodyOf(source, start, end, onBytes),
        ok: [202],
        ctx,
        retry: false,
      });
      await res.body?.cancel();
      location = uploadLocation(res, ref, ctx);
    }
    const done = await this.send(ref.registry, {
      method: 'PUT',
      url: withDigest(location, digest),
      scopes: [push],
      headers: { 'content-length': '0' },
      ok: [201],
      ctx,
      retry: false,
    });
    await done.body?.cancel();
    return { digest, size, outcome: 'uploaded' };
  }

  /**
   * Asks the registry to mount a blob from another repository it holds. Answers whether it did; when
   * it opened an upload session instead (202), the session is cancelled.
   */
  async mountBlob(repo: string | OciReference, digest: string, fromRepository: string): Promise<boolean> {
    const ref = this.ref(repo, { allowBare: true });
    const res = await this.send(ref.registry, {
      method: 'POST',
      url: `/v2/${ref.repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(fromRepository)}`,
      scopes: [repoScope(ref.repository, 'pull,push'), repoScope(fromRepository, 'pull')],
      headers: { 'content-length': '0' },
      ok: [201, 202],
      ctx: this.ctx(ref, `mount blob ${digest} from ${fromRepository}`),
    });
    await res.body?.cancel();
    if (res.status === 201) return true;
    const location = res.headers.get('location');
    if (location) {
      await this.send(ref.registry, {
        method: 'DELETE',
        url: new URL(location, ref.registry.baseUrl).toString(),
        scopes: [repoScope(ref.repository, 'pull,push')],
        ok: [204, 200, 202, 404],
        ctx: this.ctx(ref, 'cancel upload'),
        retry: false,
      })
        .then((r) => r.body?.cancel())
        .catch(() => undefined);
    }
    return false;
  }

  /**
   * Gets ready to download blobs to files: starts the thread that hashes and writes them, so that the
   * first `fetchBlob` with `toPath` does not wait for it. `pullArtifact` into a folder does this before
   * it fetches the manifest; a caller fetching blobs itself may do the same. Optional: without it the
   * thread starts with the first such download.
   */
  prepareFileDownloads(): void {
    startFileSinkWorker();
  }

  /**
   * Downloads a blob and checks it against `descriptor` (digest and size) while it streams. With `toPath`
   * the bytes go to a temp file beside it, renamed into place only once verified; else they are
   * answered in memory. A transient failure restarts the download (with backoff).
   *
   * `sync` (default true): the file is on the disk (fsynced) before it is renamed into place, so that a
   * crash never leaves a short or empty file under that name. A caller that reads the file back at once
   * and deletes it (a copy between registries, a mirror's staging file) passes false: the bytes are
   * verified all the same, only the flush to the disk is skipped, as curl or a plain `cp` would.
   */
  async fetchBlob(
    repo: string | OciReference,
    descriptor: Pick<Descriptor, 'digest' | 'size'>,
    opts: { toPath?: string; sync?: boolean; onBytes?: (n: number) => void } = {},
  ): Promise<Uint8Array | undefined> {
    const ref = this.ref(repo, { allowBare: true });
    if (!isDigest(descriptor.digest)) throw badRequest(`cannot pull '${descriptor.digest}': not a sha256 or sha512 digest`);
    if (!Number.isSafeInteger(descriptor.size) || descriptor.size < 0) throw badRequest(`cannot pull ${descriptor.digest}: invalid size ${descriptor.size}`);
    const ctx = this.ctx(ref, `pull blob ${descriptor.digest}`);
    for (let attempt = 0; ; attempt += 1) {
      let got = 0;
      const onBytes = (n: number) => {
        got += n;
        opts.onBytes?.(n);
      };
      try {
        return await this.fetchBlobOnce(ref, descriptor, opts.toPath ? { path: opts.toPath, sync: opts.sync !== false } : undefined, onBytes, ctx);
      } catch (e) {
        if (got) opts.onBytes?.(-got);
        if (!isOciClientError(e) || !e.transient || attempt >= this.retry.retries) throw e;
        await wait(retryDelayMs(this.retry, attempt, e.retryAfterSeconds));
      }
    }
  }

  private async fetchBlobOnce(
    ref: OciReference,
    d: Pick<Descriptor, 'digest' | 'size'>,
    to: { path: string; sync: boolean } | undefined,
    onBytes: (n: number) => void,
    ctx: OciClientErrorContext,
  ): Promise<Uint8Array | undefined> {
    // A large blob going to a file comes over a connection of its own, read with no HTTP parser (see
    // raw-download.ts): node:http's receive path was most of the client's CPU.
    const large = to !== undefined && d.size >= SINK_MIN;
    const res = await this.send(ref.registry, { method: 'GET', url: `/v2/${ref.repository}/blobs/${d.digest}`, scopes: [repoScope(ref.repository, 'pull')], ok: [200], ctx, download: large });
    const raw = takeRawBody(res);
    const temp = to ? `${to.path}.partial-${randomBytes(6).toString('hex')}` : undefined;
    let handle: FileHandle | undefined;
    try {
      handle = temp ? await open(temp, 'wx', 0o644) : undefined;
    } catch (e) {
      raw?.destroy();
      await res.body?.cancel().catch(() => undefined);
      throw e;
    }
    let writeError: Error | undefined;
    // With `sync`, the file is flushed to the disk while it downloads (FlushBehind: a datasync every
    // FLUSH_EVERY bytes written, in the background), so the fsync before the rename has only the rest
    // left (bench/flush-behind.mjs: a GiB written, then fsynced, waited 0.33-0.46 s for that fsync alone).
    // A large blob going to a file is hashed and written on a worker thread (FileSink), so this thread
    // only receives; otherwise it is hashed here and, to a file, written in the background (several
    // pieces in one writev), only more than WRITE_AHEAD bytes not yet written pausing the download.
    const flush = handle && to?.sync ? new FlushBehind(handle) : undefined;
    const sink =
      handle && d.size >= SINK_MIN
        ? new FileSink(handle.fd, hashAlgorithmOf(d.digest), (n) => {
            try {
              flush?.wrote(n);
            } catch {
              // a failed background flush: its error fails the sync below
            }
          })
        : undefined;
    const hash = sink ? undefined : hasherFor(d.digest);
    const out = handle && !sink ? createWriteStream('', { fd: handle.fd, autoClose: false, highWaterMark: WRITE_AHEAD }) : undefined;
    out?.on('error', (e) => (writeError = e));
    const pieces: Uint8Array[] = [];
    let size = 0;
    /** Takes one piece: a promise when the download must wait for the disk or the worker. */
    const take = (piece: Uint8Array): Promise<void> | undefined => {
      const n = piece.length;
      size += n;
      if (size > d.size) throw integrityError(ctx, `the registry sent more than the ${d.size} bytes the descriptor says`);
      onBytes(n);
      // The sink copies the piece into a buffer of its own.
      if (sink) return sink.write(piece);
      hash!.update(piece);
      if (!out) {
        pieces.push(piece);
        return undefined;
      }
      if (writeError) throw writeError;
      return out.write(piece) ? undefined : once(out, 'drain').then(() => undefined);
    };
    try {
      try {
        // The Node stream when the response has one (far cheaper per piece), else the web stream.
        const node = raw ? undefined : takeNodeBody(res);
        if (raw) await raw.each(take);
        else if (node) await eachPiece(node, take);
        else if (res.body) {
          for await (const piece of res.body) {
            const waiting = take(piece);
            if (waiting) await waiting;
          }
        }
      } catch (e) {
        raw?.destroy();
        await res.body?.cancel().catch(() => undefined);
        if (isOciClientError(e)) throw e;
        throw new OciClientError('bad_gateway', `${ctx.operation} failed on ${ref.registry.host}/${ref.repository}: the connection broke during the download`, ctx, { transient: true });
      }
      if (size !== d.size) throw integrityError(ctx, `the registry sent ${size} bytes where the descriptor says ${d.size}`);
      const hex = sink ? await sink.finish() : hash!.digest('hex');
      const actual = `${d.digest.slice(0, d.digest.indexOf(':'))}:${hex}`;
      if (actual !== d.digest) throw integrityError(ctx, `the bytes received hash to ${actual}, not ${d.digest}`);
      if (handle && temp && to) {
        if (out) await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
        if (writeError) throw writeError;
        if (flush) await flush.sync();
        await handle.close();
        await rename(temp, to.path);
        return undefined;
      }
      return Buffer.concat(pieces, size);
    } catch (e) {
      if (handle) {
        // Let a write still in flight finish before the file is closed and removed.
        if (out && !out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()).destroy());
        await sink?.abort();
        await flush?.idle();
        await handle.close().catch(() => undefined);
        await rm(temp as string, { force: true });
      }
      throw e;
    }
  }

  /** Deletes a blob (registries allow it only when deletes are enabled). */
  async deleteBlob(repo: string | OciReference, digest: string): Promise<void> {
    const ref = this.ref(repo, { allowBare: true });
    const res = await this.send(ref.registry, {
      method: 'DELETE',
      url: `/v2/${ref.repository}/blobs/${digest}`,
      scopes: [repoScope(ref.repository, 'delete')],
      ok: [202],
      ctx: this.ctx(ref, `delete blob ${digest}`),
    });
    await res.body?.cancel();
  }

  // ---- manifests ----

  /** GET a manifest by tag or digest; the bytes are verified against the digest asked for or announced. */
  async getManifest(raw: string | OciReference): Promise<FetchedManifest> {
    const ref = this.ref(raw);
    const sel = manifestSelector(ref);
    const ctx = this.ctx(ref, `pull manifest ${sel}`);
    const res = await this.send(ref.registry, {
      method: 'GET',
      url: `/v2/${ref.repository}/manifests/${sel}`,
      scopes: [repoScope(ref.repository, 'pull')],
      headers: { accept: MANIFEST_ACCEPT.join(', ') },
      ok: [200],
      ctx,
    });
    const announced = Number(res.headers.get('content-length'));
    if (Number.isFinite(announced) && announced > this.maxManifestBytes) {
      await res.body?.cancel();
      throw integrityError(ctx, `the manifest is ${announced} bytes, over the ${this.maxManifestBytes}-byte limit`);
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (bytes.length > this.maxManifestBytes) throw integrityError(ctx, `the manifest is over the ${this.maxManifestBytes}-byte limit`);
    const expected = ref.digest ?? res.headers.get('docker-content-digest') ?? undefined;
    let digest = sha256Digest(bytes);
    if (expected) {
      if (!isDigest(expected)) throw integrityError(ctx, `the registry announced an invalid digest '${expected}'`);
      const actual = `${expected.slice(0, expected.indexOf(':'))}:${hasherFor(expected).update(bytes).digest('hex')}`;
      if (actual !== expected) throw integrityError(ctx, `the manifest bytes hash to ${actual}, not ${expected}`);
      digest = expected;
    }
    let manifest: Manifest;
    try {
      manifest = JSON.parse(Buffer.from(bytes).toString('utf8')) as Manifest;
    } catch {
      throw integrityError(ctx, 'the manifest is not valid JSON');
    }
    if (typeof manifest !== 'object' || manifest === null || manifest.schemaVersion !== 2) throw integrityError(ctx, 'the manifest is not a schemaVersion 2 manifest');
    const headerType = (res.headers.get('content-type') ?? '').split(';')[0].trim();
    const mediaType = manifest.mediaType ?? (headerType || (Array.isArray((manifest as ImageIndex).manifests) ? OCI_INDEX : MANIFEST_ACCEPT[0]));
    return { digest, mediaType, bytes, manifest };
  }

  /** HEAD a manifest: its descriptor (digest, media type, size) without its body, or undefined when absent. */
  async resolve(raw: string | OciReference): Promise<Descriptor | undefined> {
    const ref = this.ref(raw);
    const sel = manifestSelector(ref);
    const res = await this.send(ref.registry, {
      method: 'HEAD',
      url: `/v2/${ref.repository}/manifests/${sel}`,
      scopes: [repoScope(ref.repository, 'pull')],
      headers: { accept: MANIFEST_ACCEPT.join(', ') },
      ok: [200, 404],
      ctx: this.ctx(ref, `check manifest ${sel}`),
    });
    await res.body?.cancel();
    if (res.status === 404) return undefined;
    const digest = res.headers.get('docker-content-digest') ?? ref.digest;
    if (!digest) return descriptorOf(await this.getManifest(ref));
    return { mediaType: (res.headers.get('content-type') ?? '').split(';')[0].trim(), digest, size: Number(res.headers.get('content-length')) || 0 };
  }

  /**
   * PUTs a manifest under the reference's tag (or its digest when it has no tag). Answers its digest.
   * When the manifest has a `subject` and the registry does not answer `OCI-Subject` (no referrers
   * API), the client keeps the `sha256-<subject>` referrers tag index up to date itself, as the spec asks.
   */
  async putManifest(raw: string | OciReference, manifest: Manifest | Uint8Array, mediaType?: string): Promise<Descriptor> {
    const ref = this.ref(raw, { allowBare: true });
    const bytes = manifest instanceof Uint8Array ? manifest : new TextEncoder().encode(JSON.stringify(manifest));
    const parsed = manifest instanceof Uint8Array ? (JSON.parse(Buffer.from(bytes).toString('utf8')) as Manifest) : manifest;
    const type = mediaType ?? parsed.mediaType;
    if (!type) throw badRequest('a manifest needs a mediaType (in the manifest or given)');
    const digest = sha256Digest(bytes);
    const sel = ref.tag ?? ref.digest ?? digest;
    if (ref.digest && ref.digest !== digest) throw badRequest(`the manifest's digest is ${digest}, not ${ref.digest} as the reference says`);
    const ctx = this.ctx(ref, `push manifest ${sel}`);
    const res = await this.send(ref.registry, {
      method: 'PUT',
      url: `/v2/${ref.repository}/manifests/${sel}`,
      scopes: [repoScope(ref.repository, 'pull,push')],
      headers: { 'content-type': type, 'content-length': String(bytes.length) },
      body: () => bytes,
      ok: [201],
      ctx,
    });
    await res.body?.cancel();
    const answered = res.headers.get('docker-content-digest');
    if (answered && answered !== digest) throw integrityError(ctx, `the registry stored the manifest as ${answered}, not ${digest}`);
    const descriptor: Descriptor = {
      mediaType: type,
      digest,
      size: bytes.length,
      ...(parsed.artifactType ? { artifactType: parsed.artifactType } : {}),
      ...(parsed.annotations ? { annotations: parsed.annotations } : {}),
    };
    if (parsed.subject && !res.headers.get('oci-subject')) await this.addToReferrersTag(ref, parsed.subject, descriptor);
    return descriptor;
  }

  /** The referrers tag schema: adds `descriptor` to the index tagged `sha256-<subject hex>`. */
  private async addToReferrersTag(ref: OciReference, subject: Descriptor, descriptor: Descriptor): Promise<void> {
    const tagRef: OciReference = { registry: ref.registry, repository: ref.repository, tag: digestToTag(subject.digest) };
    let index: ImageIndex = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] };
    if (await this.resolve(tagRef)) {
      const existing = await this.getManifest(tagRef);
      if (Array.isArray((existing.manifest as ImageIndex).manifests)) index = existing.manifest as ImageIndex;
    }
    if (index.manifests.some((m) => m.digest === descriptor.digest)) return;
    index = { ...index, manifests: [...index.manifests, descriptor] };
    await this.putManifest(tagRef, index, OCI_INDEX);
  }

  /** Deletes a manifest. A tag is resolved to its digest first, so every tag of that manifest goes. */
  async deleteManifest(raw: string | OciReference): Promise<string> {
    const ref = this.ref(raw);
    let digest = ref.digest;
    if (!digest) {
      const d = await this.resolve(ref);
      if (!d)
        throw new OciClientError('not_found', `delete manifest ${ref.tag} failed on ${ref.registry.host}/${ref.repository}: no such tag`, this.ctx(ref, `delete manifest ${ref.tag}`), {
          httpStatus: 404,
        });
      digest = d.digest;
    }
    const res = await this.send(ref.registry, {
      method: 'DELETE',
      url: `/v2/${ref.repository}/manifests/${digest}`,
      scopes: [repoScope(ref.repository, 'delete')],
      ok: [202],
      ctx: this.ctx(ref, `delete manifest ${digest}`),
    });
    await res.body?.cancel();
    return digest;
  }

  // ---- discovery ----

  /** Every tag of a repository, following `Link` pagination. */
  async listTags(repo: string | OciReference, opts: ListOptions = {}): Promise<string[]> {
    const ref = this.ref(repo, { allowBare: true });
    return this.paginate(ref.registry, `/v2/${ref.repository}/tags/list`, 'tags', [repoScope(ref.repository, 'pull')], this.ctx(ref, 'list tags'), opts);
  }

  /** Every repository of a registry (`/v2/_catalog`), following `Link` pagination. */
  async listRepositories(registry: string | RegistryEndpoint, opts: ListOptions = {}): Promise<string[]> {
    const endpoint = this.registry(registry);
    const ctx: OciClientErrorContext = { registry: endpoint.host, operation: 'list repositories' };
    try {
      return await this.paginate(endpoint, '/v2/_catalog', 'repositories', ['registry:catalog:*'], ctx, opts);
    } catch (e) {
      // The catalog is optional in the distribution spec: say so rather than "not found".
      if (isOciClientError(e) && (e.httpStatus === 404 || e.httpStatus === 405)) {
        throw new OciClientError('not_implemented', `${e.message}: this registry does not serve the optional /v2/_catalog API`, ctx, { httpStatus: e.httpStatus, registryErrors: e.registryErrors });
      }
      throw e;
    }
  }

  private async paginate(endpoint: RegistryEndpoint, path: string, field: 'tags' | 'repositories', scopes: string[], ctx: OciClientErrorContext, opts: ListOptions): Promise<string[]> {
    const first = new URL(path, endpoint.baseUrl);
    if (opts.pageSize) first.searchParams.set('n', String(opts.pageSize));
    if (opts.last) first.searchParams.set('last', opts.last);
    const out: string[] = [];
    const seen = new Set<string>();
    let next: string | undefined = first.toString();
    while (next) {
      if (seen.has(next)) throw integrityError(ctx, 'the registry sent a pagination Link that loops');
      seen.add(next);
      const res = await this.send(endpoint, { method: 'GET', url: next, scopes, headers: { accept: 'application/json' }, ok: [200], ctx });
      let body: unknown;
      try {
        body = await res.json();
      } catch {
        throw integrityError(ctx, 'the registry answered something that is not JSON');
      }
      const items = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[field] : undefined;
      if (items !== null && items !== undefined && !Array.isArray(items)) throw integrityError(ctx, `the registry's answer has no '${field}' list`);
      for (const item of (items as unknown[] | null | undefined) ?? []) {
        if (typeof item === 'string') out.push(item);
        if (opts.limit !== undefined && out.length >= opts.limit) return out;
      }
      const link = nextLink(res.headers.get('link'));
      next = link ? new URL(link, endpoint.baseUrl).toString() : undefined;
    }
    return out;
  }

  /**
   * The manifests that refer to `subject` (a reference with a digest): from the referrers API, or,
   * when the registry has none (404), from the `sha256-<hex>` tag schema. Filtered by `artifactType`.
   */
  async listReferrers(raw: string | OciReference, opts: { artifactType?: string } = {}): Promise<Referrers> {
    const ref = this.ref(raw);
    if (!ref.digest) throw badRequest(`referrers are listed for a digest: ${formatReference(ref)} has none`);
    const ctx = this.ctx(ref, `list referrers of ${ref.digest}`);
    const url = new URL(`/v2/${ref.repository}/referrers/${ref.digest}`, ref.registry.baseUrl);
    if (opts.artifactType) url.searchParams.set('artifactType', opts.artifactType);
    const res = await this.send(ref.registry, { method: 'GET', url: url.toString(), scopes: [repoScope(ref.repository, 'pull')], headers: { accept: OCI_INDEX }, ok: [200, 404], ctx });
    const type = (res.headers.get('content-type') ?? '').split(';')[0].trim();
    if (res.status === 200 && (type === OCI_INDEX || type === 'application/json')) {
      const body = (await res.json()) as ImageIndex;
      const filtered = (res.headers.get('oci-filters-applied') ?? '')
        .split(',')
        .map((s) => s.trim())
        .includes('artifactType');
      const manifests = Array.isArray(body.manifests) ? body.manifests : [];
      return { manifests: opts.artifactType && !filtered ? manifests.filter((m) => m.artifactType === opts.artifactType) : manifests, source: 'referrers-api', filtered };
    }
    await res.body?.cancel();
    const tagRef: OciReference = { registry: ref.registry, repository: ref.repository, tag: digestToTag(ref.digest) };
    if (!(await this.resolve(tagRef))) return { manifests: [], source: 'tag-schema', filtered: false };
    const index = (await this.getManifest(tagRef)).manifest as ImageIndex;
    const manifests = Array.isArray(index.manifests) ? index.manifests : [];
    return { manifests: opts.artifactType ? manifests.filter((m) => m.artifactType === opts.artifactType) : manifests, source: 'tag-schema', filtered: false };
  }

  // ---- artifacts ----

  /** Pushes files or bytes as one artifact (see PushArtifactInput). */
  pushArtifact(input: PushArtifactInput): Promise<PushedArtifact> {
    return pushArtifact(this, input);
  }

  /** Pushes an image index over manifests already in the repository. */
  pushIndex(input: PushIndexInput): Promise<PushedArtifact> {
    return pushIndex(this, input);
  }

  /** Pulls an artifact's manifest, config and layers, each verified (see PullArtifactOptions). */
  pullArtifact(ref: string | OciReference, opts: PullArtifactOptions = {}): Promise<PulledArtifact> {
    return pullArtifact(this, ref, opts);
  }

  /** Copies a manifest (an index with every manifest under it) and its blobs from one reference to another. */
  copy(from: string | OciReference, to: string | OciReference, opts: CopyOptions = {}): Promise<CopyResult> {
    return copyArtifact(this, from, to, opts);
  }
}

/** Digest and size of a blob source, hashing a file from disk (streamed) when they are not given. */
export const describeBlob = async (source: BlobSource): Promise<{ digest: string; size: number }> => {
  if (source.digest !== undefined && source.size !== undefined) {
    if (!isDigest(source.digest)) throw badRequest(`invalid digest '${source.digest}'`);
    return { digest: source.digest, size: source.size };
  }
  if ('data' in source) return { digest: sha256Digest(source.data), size: source.data.length };
  let st;
  try {
    st = await stat(source.path);
  } catch (e) {
    throw badRequest(`cannot read ${source.path}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
  if (!st.isFile()) throw badRequest(`${source.path} is not a file`);
  return digestFile(source.path);
};

const descriptorOf = (m: FetchedManifest): Descriptor => ({ mediaType: m.mediaType, digest: m.digest, size: m.bytes.length });

/** The upload URL a POST or PATCH answered (Location, absolute or relative). */
const uploadLocation = (res: Response, ref: OciReference, ctx: OciClientErrorContext): string => {
  const location = res.headers.get('location');
  if (!location) throw integrityError(ctx, `the registry answered ${res.status} without an upload Location`);
  return new URL(location, ref.registry.baseUrl).toString();
};

/** The upload URL with `digest=` added to whatever query it already carries. */
const withDigest = (location: string, digest: string): string => {
  const url = new URL(location);
  url.searchParams.set('digest', digest);
  return url.toString();
};

/** The `rel="next"` target of a Link header. */
export const nextLink = (header: string | null): string | undefined => {
  if (!header) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (m && /(^|;)\s*rel\s*=\s*"?next"?\s*(;|$)/i.test(m[2])) return m[1];
  }
  return undefined;
};
