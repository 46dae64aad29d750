import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';

export const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export interface OciResponse {
  status: number;
  headers: Headers;
  body: Buffer;
  json: any;
}

/** A minimal OCI distribution client for tests: raw HTTP, credentials as given. */
export class OciClient {
  constructor(
    readonly base: string,
    readonly auth?: string,
  ) {}

  /** Authenticates with an Agentry token as `Bearer`. */
  withToken(token: string | undefined): OciClient {
    return new OciClient(this.base, token ? `Bearer ${token}` : undefined);
  }

  withAuth(header: string | undefined): OciClient {
    return new OciClient(this.base, header);
  }

  /**
   * One request on a connection of its own (no keep-alive), so that a server can always close
   * at once when a test ends.
   */
  async req(method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}): Promise<OciResponse> {
    const h: Record<string, string> = { ...headers };
    if (this.auth && !h.authorization) h.authorization = this.auth;
    const url = new URL(path.startsWith('http') ? path : this.base + path);
    if (body !== undefined) h['content-length'] = String(Buffer.byteLength(body));
    return new Promise<OciResponse>((resolve, reject) => {
      const req = httpRequest(url, { method, headers: h, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const buf = Buffer.concat(chunks);
          let json: unknown;
          try {
            json = buf.length ? JSON.parse(buf.toString('utf8')) : undefined;
          } catch {
            json = undefined;
          }
          const out = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) out.set(k, Array.isArray(v) ? v.join(', ') : v);
          resolve({ status: res.statusCode ?? 0, headers: out, body: buf, json });
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Monolithic push (POST ?digest=). */
  pushBlob(repo: string, data: Buffer | string): Promise<OciResponse> {
    return this.req('POST', `/v2/${repo}/blobs/uploads/?digest=${sha256(data)}`, data, { 'content-type': 'application/octet-stream' });
  }

  pushManifest(repo: string, reference: string, manifest: object | string, mediaType = 'application/vnd.oci.image.manifest.v1+json'): Promise<OciResponse> {
    const body = typeof manifest === 'string' ? manifest : JSON.stringify(manifest);
    return this.req('PUT', `/v2/${repo}/manifests/${reference}`, body, { 'content-type': mediaType });
  }
}

export const EMPTY_CONFIG = { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256('{}'), size: 2 };

/** An image manifest over the given layers, with the empty config unless one is given. */
export const imageManifest = (
  layers: Array<{ data: Buffer | string; mediaType?: string; annotations?: Record<string, string> }>,
  extra: Record<string, unknown> = {},
  config: { mediaType: string; digest: string; size: number } = EMPTY_CONFIG,
) => ({
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config,
  layers: layers.map((l) => ({
    mediaType: l.mediaType ?? 'application/vnd.oci.image.layer.v1.tar',
    digest: sha256(l.data),
    size: Buffer.byteLength(l.data),
    ...(l.annotations ? { annotations: l.annotations } : {}),
  })),
  ...extra,
});

/** A byte pattern that differs in every chunk and for every seed, so a misplaced chunk changes the digest. */
export const bytePattern = (n: number, seed: number): Buffer => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed + (i >> 12)) & 0xff;
  return b;
};
