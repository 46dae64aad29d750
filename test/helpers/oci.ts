import { createHash } from 'node:crypto';

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

  async req(method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}): Promise<OciResponse> {
    const h: Record<string, string> = { ...headers };
    if (this.auth && !h.authorization) h.authorization = this.auth;
    const url = path.startsWith('http') ? path : this.base + path;
    const res = await fetch(url, { method, headers: h, body: body as RequestInit['body'], redirect: 'manual' });
    const buf = Buffer.from(await res.arrayBuffer());
    let json: unknown;
    try {
      json = buf.length ? JSON.parse(buf.toString('utf8')) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, body: buf, json };
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
