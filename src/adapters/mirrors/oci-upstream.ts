import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { badGateway, isAgentryError } from '../../core/errors.js';
import type { OciUpstream, UpstreamDescriptor, UpstreamEndpoint, UpstreamManifest } from '../../core/mirrors/mirror.js';
import { MIRROR_VIA_HEADER, formatMirrorVia } from '../../core/mirrors/mirror-via.js';
import { OciClient, isOciClientError } from '../oci-client/index.js';

export interface OciUpstreamOptions {
  /** The egress policy's fetch: every request to an upstream goes through it. */
  fetch: typeof globalThis.fetch;
  /** Where blobs are held while they arrive and are verified (the data dir's `mirror-downloads`). */
  downloadDir: string;
}

const isAbsent = (e: unknown): boolean => isOciClientError(e) && e.httpStatus === 404;

/** How a failed upstream call reaches the caller: as the upstream failing (502), never as its own 401 or 404. */
const failure = (url: string, e: unknown): Error => badGateway(`The upstream at ${url} failed: ${isAgentryError(e) || e instanceof Error ? e.message : String(e)}`);

/** A 404 of the upstream is an absence; anything else is {@link failure}. */
const answer = async <T>(url: string, run: () => Promise<T>): Promise<T | undefined> => {
  try {
    return await run();
  } catch (e) {
    if (isAbsent(e)) return undefined;
    throw failure(url, e);
  }
};

/**
 * Upstream OCI registries through the OCI client adapter: one client per upstream and login (its
 * bearer tokens reused), few retries (a mirror whose upstream is down serves its cache instead), and
 * every byte checked against its digest by the client as it arrives.
 */
export class HttpOciUpstream implements OciUpstream {
  private readonly clients = new Map<string, OciClient>();
  /**
   * The `Via` list of the call under way: a client (and its tokens) is shared by every call to an
   * upstream, so the list each call sends (`X-Agentry-Mirror-Via`) is added by its fetch.
   */
  private readonly via = new AsyncLocalStorage<readonly string[] | undefined>();
  private readonly fetchWithVia: typeof globalThis.fetch = (input, init) => {
    const via = this.via.getStore();
    if (!via || via.length === 0) return this.opts.fetch(input, init);
    const headers = new Headers(init?.headers);
    headers.set(MIRROR_VIA_HEADER, formatMirrorVia(via));
    return this.opts.fetch(input, { ...init, headers });
  };

  constructor(private readonly opts: OciUpstreamOptions) {}

  private client(endpoint: UpstreamEndpoint): { client: OciClient; host: string; run: <T>(task: () => Promise<T>) => Promise<T> } {
    const url = new URL(endpoint.url);
    const login = endpoint.credentials ? createHash('sha256').update(`${endpoint.credentials.username}\u0000${endpoint.credentials.password}`).digest('hex') : '';
    const key = `${endpoint.url}\u0000${login}`;
    let client = this.clients.get(key);
    if (!client) {
      client = new OciClient({
        fetch: this.fetchWithVia,
        plainHttp: url.protocol === 'http:',
        retry: { retries: 1, baseDelayMs: 100, maxDelayMs: 2000 },
        ...(endpoint.credentials ? { credentials: { [url.host]: endpoint.credentials } } : {}),
        userAgent: 'agentry-mirror',
      });
      this.clients.set(key, client);
    }
    return { client, host: url.host, run: (task) => this.via.run(endpoint.via, task) };
  }

  async resolve(endpoint: UpstreamEndpoint, repository: string, tag: string): Promise<string | undefined> {
    const { client, host, run } = this.client(endpoint);
    const d = await answer(endpoint.url, () => run(() => client.resolve(`${host}/${repository}:${tag}`)));
    return d?.digest;
  }

  async manifest(endpoint: UpstreamEndpoint, repository: string, digest: string): Promise<UpstreamManifest | undefined> {
    const { client, host, run } = this.client(endpoint);
    const m = await answer(endpoint.url, () => run(() => client.getManifest(`${host}/${repository}@${digest}`)));
    return m && { digest: m.digest, mediaType: m.mediaType, bytes: Buffer.from(m.bytes) };
  }

  async tags(endpoint: UpstreamEndpoint, repository: string, limit?: number): Promise<string[] | undefined> {
    const { client, host, run } = this.client(endpoint);
    return answer(endpoint.url, () => run(() => client.listTags(`${host}/${repository}`, limit === undefined ? {} : { limit })));
  }

  async repositories(endpoint: UpstreamEndpoint): Promise<string[]> {
    const { client, host, run } = this.client(endpoint);
    try {
      return await run(() => client.listRepositories(host));
    } catch (e) {
      throw failure(endpoint.url, e);
    }
  }

  async referrers(endpoint: UpstreamEndpoint, repository: string, digest: string): Promise<UpstreamDescriptor[]> {
    const { client, host, run } = this.client(endpoint);
    // The client falls back to the `sha256-<hex>` tag schema when the upstream has no referrers API (404).
    const found = await answer(endpoint.url, () => run(() => client.listReferrers(`${host}/${repository}@${digest}`)));
    return (found?.manifests ?? [])
      .filter((m) => typeof m.digest === 'string' && typeof m.mediaType === 'string')
      .map((m) => ({ digest: m.digest, mediaType: m.mediaType, size: Number(m.size) || 0, ...(typeof m.artifactType === 'string' ? { artifactType: m.artifactType } : {}) }));
  }

  async blob(endpoint: UpstreamEndpoint, repository: string, digest: string): Promise<{ size: number; data: ReturnType<typeof createReadStream> } | undefined> {
    const { client, host, run } = this.client(endpoint);
    const ref = `${host}/${repository}`;
    const size = await answer(endpoint.url, () => run(() => client.blobSize(ref, digest)));
    if (size === undefined) return undefined;
    await mkdir(this.opts.downloadDir, { recursive: true });
    const path = join(this.opts.downloadDir, `${randomBytes(12).toString('hex')}.blob`);
    try {
      // Written whole and verified (size and digest) before anything reads it; a staging file, read
      // into the blob store (which makes the blob durable) and removed, so not flushed to the disk here.
      await run(() => client.fetchBlob(ref, { digest, size }, { toPath: path, sync: false }));
    } catch (e) {
      await rm(path, { force: true });
      if (isAbsent(e)) return undefined;
      throw failure(endpoint.url, e);
    }
    const data = createReadStream(path);
    data.once('close', () => void rm(path, { force: true }));
    return { size, data };
  }
}
