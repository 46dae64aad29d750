import { badGateway } from '../../core/errors.js';
import { checkSecretAddress, type SecretStore } from '../../core/secrets/secret-store.js';
import type { EgressPolicy } from '../egress/index.js';

export interface VaultConfig {
  /** e.g. `https://vault.example.com:8200` */
  address: string;
  token: string;
  /** Where the KV v2 engine is mounted (default `secret`). */
  mount: string;
  /** Folder under the mount that Agentry keeps its values in (default `agentry`). */
  pathPrefix: string;
  /** Vault Enterprise namespace, sent as `X-Vault-Namespace`. */
  namespace?: string;
  timeoutMs?: number;
}

interface KvReadBody {
  data?: { data?: Record<string, unknown> | null };
}
interface KvListBody {
  data?: { keys?: unknown };
}

const enc = (path: string): string =>
  path
    .split('/')
    .filter((s) => s.length > 0)
    .map(encodeURIComponent)
    .join('/');

/**
 * HashiCorp Vault's KV version 2 engine over HTTP, token auth. The value of (owner, namespace,
 * key) is the field `value` of the secret at `<mount>/data/<prefix>/<owner>/<namespace>/<key>`;
 * delete removes the key's metadata and every version. Vault's answers and errors are reported
 * without the token or any value.
 */
export class VaultSecretStore implements SecretStore {
  readonly backend = 'vault' as const;
  private readonly base: string;

  constructor(
    private readonly cfg: VaultConfig,
    private readonly egress: EgressPolicy,
  ) {
    this.base = cfg.address.replace(/\/+$/, '');
  }

  async put(owner: string, namespace: string, key: string, value: string): Promise<void> {
    checkSecretAddress(owner, namespace, key);
    const res = await this.call('POST', 'data', this.path(owner, namespace, key), { data: { value } });
    await this.expectOk(res, 'write');
  }

  async get(owner: string, namespace: string, key: string): Promise<string | undefined> {
    checkSecretAddress(owner, namespace, key);
    const res = await this.call('GET', 'data', this.path(owner, namespace, key));
    if (res.status === 404) return undefined;
    await this.expectOk(res, 'read');
    const body = (await res.json().catch(() => ({}))) as KvReadBody;
    const v = body.data?.data?.value;
    return typeof v === 'string' ? v : undefined;
  }

  async delete(owner: string, namespace: string, key: string): Promise<boolean> {
    checkSecretAddress(owner, namespace, key);
    const path = this.path(owner, namespace, key);
    const head = await this.call('GET', 'metadata', path);
    if (head.status === 404) return false;
    await this.expectOk(head, 'read');
    const res = await this.call('DELETE', 'metadata', path);
    await this.expectOk(res, 'delete');
    return true;
  }

  async list(owner: string, namespace: string): Promise<string[]> {
    checkSecretAddress(owner, namespace);
    const res = await this.call('GET', 'metadata', `${this.cfg.pathPrefix}/${owner}/${namespace}`, undefined, '?list=true');
    if (res.status === 404) return [];
    await this.expectOk(res, 'list');
    const body = (await res.json().catch(() => ({}))) as KvListBody;
    const keys = Array.isArray(body.data?.keys) ? body.data.keys : [];
    return keys.filter((k): k is string => typeof k === 'string' && !k.endsWith('/')).sort();
  }

  private path(owner: string, namespace: string, key: string): string {
    return `${this.cfg.pathPrefix}/${owner}/${namespace}/${key}`;
  }

  private async call(method: string, kind: 'data' | 'metadata', path: string, body?: unknown, query = ''): Promise<Response> {
    const url = `${this.base}/v1/${enc(this.cfg.mount)}/${kind}/${enc(path)}${query}`;
    const headers: Record<string, string> = { 'x-vault-token': this.cfg.token, 'x-vault-request': 'true' };
    if (this.cfg.namespace) headers['x-vault-namespace'] = this.cfg.namespace;
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      return await this.egress.fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(this.cfg.timeoutMs ?? 10_000) });
    } catch (e) {
      const reason = e instanceof Error && e.name === 'TimeoutError' ? 'timed out' : 'is unreachable';
      throw badGateway(`The Vault server at ${this.base} ${reason}`);
    }
  }

  private async expectOk(res: Response, what: string): Promise<void> {
    if (res.ok) return;
    // Vault's errors are `{"errors": ["…"]}`; they never hold a value, but keep them short.
    const body = (await res.json().catch(() => ({}))) as { errors?: unknown };
    const errors = Array.isArray(body.errors) ? body.errors.filter((e): e is string => typeof e === 'string').map((e) => e.slice(0, 200)) : [];
    throw badGateway(`Vault refused to ${what} a secret (HTTP ${res.status})`, errors);
  }
}
