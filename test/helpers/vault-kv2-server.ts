import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/**
 * A small local server that speaks HashiCorp Vault's KV version 2 HTTP API as Vault documents it
 * (https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2), for tests: no Vault server can
 * be installed here. It keeps versions in memory and implements, under `/v1/<mount>/`:
 * `POST|PUT data/:path` (with `options.cas`), `GET data/:path[?version=]`, `DELETE data/:path`
 * (soft-deletes the latest version), `GET metadata/:path`, `LIST metadata/:path` or
 * `GET metadata/:path?list=true`, `DELETE metadata/:path` (every version and the metadata).
 * Requests need `X-Vault-Token`; errors are `{"errors": [...]}` with Vault's status codes.
 */
export interface VaultKv2Server {
  url: string;
  token: string;
  mount: string;
  /** Every request seen: method, path and body text (for leak checks). */
  requests: Array<{ method: string; url: string; body: string }>;
  /** The current data of a path under the mount, as a test would read it with `vault kv get`. */
  read(path: string): Record<string, unknown> | undefined;
  close(): Promise<void>;
}

interface Version {
  data: Record<string, unknown> | null;
  created_time: string;
  deletion_time: string;
  destroyed: boolean;
}

export const startVaultKv2Server = async (opts: { token?: string; mount?: string } = {}): Promise<VaultKv2Server> => {
  const token = opts.token ?? 'hvs.test-root-token';
  const mount = opts.mount ?? 'secret';
  const secrets = new Map<string, { versions: Version[]; created_time: string; updated_time: string }>();
  const requests: VaultKv2Server['requests'] = [];

  const send = (res: ServerResponse, status: number, body?: unknown) => {
    if (body === undefined) {
      res.writeHead(status).end();
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      let s = '';
      req.on('data', (c: Buffer) => (s += c.toString()));
      req.on('end', () => resolve(s));
    });
  const versionMeta = (v: Version, n: number) => ({ created_time: v.created_time, custom_metadata: null, deletion_time: v.deletion_time, destroyed: v.destroyed, version: n });

  const server: Server = createServer(async (req, res) => {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push({ method: req.method ?? '', url: req.url ?? '', body });
    if (req.headers['x-vault-token'] !== token) return send(res, 403, { errors: ['permission denied'] });
    const prefix = `/v1/${mount}/`;
    if (!url.pathname.startsWith(prefix)) return send(res, 404, { errors: [`no handler for route "${url.pathname.slice(4)}". route entry not found.`] });
    const rest = decodeURIComponent(url.pathname.slice(prefix.length));
    const [kind, ...parts] = rest.split('/');
    const path = parts.join('/').replace(/\/+$/, '');
    const method = req.method === 'GET' && url.searchParams.get('list') === 'true' ? 'LIST' : req.method;
    const now = new Date().toISOString();
    const entry = secrets.get(path);

    if (kind === 'data') {
      if (method === 'POST' || method === 'PUT') {
        let parsed: { data?: unknown; options?: { cas?: number } };
        try {
          parsed = JSON.parse(body || '{}') as typeof parsed;
        } catch {
          return send(res, 400, { errors: ['error parsing JSON'] });
        }
        if (typeof parsed.data !== 'object' || parsed.data === null || Array.isArray(parsed.data)) return send(res, 400, { errors: ['no data provided'] });
        const current = entry?.versions.length ?? 0;
        if (parsed.options?.cas !== undefined && parsed.options.cas !== current) {
          return send(res, 400, { errors: [`check-and-set parameter did not match the current version`] });
        }
        const e = entry ?? { versions: [], created_time: now, updated_time: now };
        e.versions.push({ data: parsed.data as Record<string, unknown>, created_time: now, deletion_time: '', destroyed: false });
        e.updated_time = now;
        secrets.set(path, e);
        return send(res, 200, { data: versionMeta(e.versions[e.versions.length - 1], e.versions.length) });
      }
      if (method === 'GET') {
        if (!entry) return send(res, 404, { errors: [] });
        const n = Number(url.searchParams.get('version') || entry.versions.length);
        const v = entry.versions[n - 1];
        if (!v) return send(res, 404, { errors: [] });
        if (v.deletion_time || v.destroyed) return send(res, 404, { data: { data: null, metadata: versionMeta(v, n) } });
        return send(res, 200, {
          request_id: 'test',
          lease_id: '',
          renewable: false,
          lease_duration: 0,
          data: { data: v.data, metadata: versionMeta(v, n) },
          wrap_info: null,
          warnings: null,
          auth: null,
        });
      }
      if (method === 'DELETE') {
        const v = entry?.versions[entry.versions.length - 1];
        if (v) v.deletion_time = now;
        return send(res, 204);
      }
    }
    if (kind === 'metadata') {
      if (method === 'LIST') {
        const folder = path === '' ? '' : `${path}/`;
        const keys = new Set<string>();
        for (const p of secrets.keys()) {
          if (!p.startsWith(folder)) continue;
          const tail = p.slice(folder.length);
          const slash = tail.indexOf('/');
          keys.add(slash === -1 ? tail : tail.slice(0, slash + 1));
        }
        if (keys.size === 0) return send(res, 404, { errors: [] });
        return send(res, 200, { data: { keys: [...keys].sort() } });
      }
      if (method === 'GET') {
        if (!entry) return send(res, 404, { errors: [] });
        const versions = Object.fromEntries(entry.versions.map((v, i) => [String(i + 1), { created_time: v.created_time, deletion_time: v.deletion_time, destroyed: v.destroyed }]));
        return send(res, 200, {
          data: { cas_required: false, created_time: entry.created_time, current_version: entry.versions.length, max_versions: 0, oldest_version: 1, updated_time: entry.updated_time, versions },
        });
      }
      if (method === 'DELETE') {
        secrets.delete(path);
        return send(res, 204);
      }
    }
    return send(res, 405, { errors: ['1 error occurred:\n\t* unsupported operation\n\n'] });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    mount,
    requests,
    read: (path) => {
      const e = secrets.get(path);
      const v = e?.versions[e.versions.length - 1];
      return v && !v.deletion_time && !v.destroyed ? (v.data ?? undefined) : undefined;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};
