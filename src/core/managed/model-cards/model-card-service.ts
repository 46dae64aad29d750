import type { RequestContext } from '../../auth/principal.js';
import { badRequest, conflict, notFound } from '../../errors.js';
import { isPlainObject } from '../../packages/manifest/fields.js';
import { isoNow } from '../../time.js';
import { newManagedId } from '../ids.js';
import { ownedObject, readableObject, writer, type ManagedDeps, listOwned } from '../managed-deps.js';
import type { ManagedObjectRecord } from '../managed-storage.js';
import { type Paged, type PageRequest } from '../page-token.js';
import { checkListPrice, type ListPrice } from '../../sessions/budget.js';
import { DEFAULT_BASE_URL, MODEL_PROVIDERS, type CapabilityProbe, type ModelProvider, type ProbeResult, type ProbeTarget } from './capability-probe.js';
import { newManagedObject } from '../new-managed-object.js';

export interface ModelCardView {
  id: string;
  modelId: string;
  provider: ModelProvider;
  model: string;
  baseUrl: string;
  /** Names of the custom headers (their values are kept with the key). */
  customHeaderNames: string[];
  /** The key's last 4 characters. */
  keyLast4: string;
  /** Agentry: the model's list price (session budgets need one), or null. */
  listPrice: ListPrice | null;
  probedAt: string;
  createdAt: string;
  updatedAt: string;
}

export interface ModelCardInput {
  modelId?: string;
  provider?: string;
  model?: string;
  baseUrl?: string | null;
  customHeaders?: Record<string, string> | null;
  apiKey?: string;
  /** Set (or, with null, clear) the list price; absent: unchanged. */
  listPrice?: unknown;
}

/** What a runtime gets: the cleartext credentials of a card. */
export interface ModelCardCredentials {
  card: ModelCardView;
  apiKey: string;
  customHeaders: Record<string, string>;
}

const NAMESPACE = 'managed/model_cards';
const MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const HEADER = /^[A-Za-z0-9-]{1,100}$/;
const FORBIDDEN_HEADERS = new Set(['authorization', 'x-api-key', 'host', 'content-length']);

interface StoredSecret {
  api_key: string;
  headers: Record<string, string>;
}

const view = (o: ManagedObjectRecord): ModelCardView => ({
  id: o.id,
  modelId: String(o.data.model_id),
  provider: o.data.provider as ModelProvider,
  model: String(o.data.model),
  baseUrl: String(o.data.base_url),
  customHeaderNames: (o.data.custom_header_names as string[] | undefined) ?? [],
  keyLast4: String(o.data.key_last4),
  listPrice: (o.data.list_price as ListPrice | undefined) ?? null,
  probedAt: String(o.data.probed_at),
  createdAt: o.createdAt,
  updatedAt: o.updatedAt,
});

const checkHeaders = (h: Record<string, string> | null | undefined): Record<string, string> => {
  if (h == null) return {};
  if (!isPlainObject(h)) throw badRequest('custom_headers must be an object of strings');
  const problems = Object.entries(h).flatMap(([k, v]) => [
    ...(HEADER.test(k) ? [] : [`custom_headers: '${k.slice(0, 100)}' is not a header name`]),
    ...(FORBIDDEN_HEADERS.has(k.toLowerCase()) ? [`custom_headers: '${k}' is set by Agentry from the card's key`] : []),
    ...(typeof v === 'string' && v.length <= 4096 && !/[\r\n]/.test(v) ? [] : [`custom_headers.${k} must be a one-line string`]),
  ]);
  if (problems.length > 0) throw badRequest('Invalid custom_headers', problems);
  return { ...h };
};

const checkBaseUrl = (provider: ModelProvider, url: string | null | undefined): string => {
  const u = url ?? DEFAULT_BASE_URL[provider];
  if (!u) throw badRequest(`base_url is required for provider '${provider}'`);
  if (!/^https?:\/\/[^/\s]+/.test(u)) throw badRequest('base_url must be an http(s) URL');
  return u.replace(/\/+$/, '');
};

const last4 = (key: string): string => key.slice(-4);

/**
 * Model cards: per-account LLM credentials (provider ant | ant-compatible | oai | oai-compatible).
 * The key (and custom header values) live in the core's encrypted secret store; the card shows
 * only the key's last 4 characters. Create and rotate probe the provider first (6 seconds), and
 * only a runtime token may read the key back.
 */
export class ModelCardService {
  constructor(
    private readonly deps: ManagedDeps,
    private readonly probe?: CapabilityProbe,
  ) {}

  private probeModelCard(target: ProbeTarget): Promise<ProbeResult> {
    if (!this.probe) throw badRequest('This server has no capability probe configured: model cards cannot be checked');
    return this.probe(target);
  }

  async create(ctx: RequestContext, input: ModelCardInput): Promise<ModelCardView> {
    const p = writer(this.deps, ctx);
    const provider = this.provider(input.provider);
    if (!input.modelId || !MODEL_ID.test(input.modelId)) throw badRequest("model_id must be 1-128 letters, digits, '.', '_', ':' or '-'");
    if (!input.model || input.model.length > 256) throw badRequest('model must be 1-256 characters');
    if (!input.apiKey || input.apiKey.length > 4096) throw badRequest('api_key is required');
    const baseUrl = checkBaseUrl(provider, input.baseUrl);
    const headers = checkHeaders(input.customHeaders);
    const listPrice = input.listPrice == null ? undefined : checkListPrice(input.listPrice);
    const taken = () => conflict(`You already have a model card with model_id '${input.modelId}'`);
    if (await this.deps.storage.managed.findByName('model_card', p.account.id, input.modelId)) throw taken();
    const probe = await this.probeModelCard({ provider, baseUrl, model: input.model, apiKey: input.apiKey, headers });
    const now = isoNow(this.deps.clock);
    // The key is stored before the card shows, so a card another process reads always has its key.
    const id = newManagedId('mc');
    await this.deps.secrets.put(p.account.name, NAMESPACE, id, JSON.stringify({ api_key: input.apiKey, headers } satisfies StoredSecret));
    const o = await this.deps.storage
      .transaction(async (tx) => {
        // The model_id is unique per account (migration 0034): a concurrent create that got there first wins.
        const created = await tx.managed.insertUnlessNamed(
          newManagedObject(
            {
              id,
              kind: 'model_card',
              accountId: p.account.id,
              name: input.modelId!,
              data: {
                model_id: input.modelId,
                provider,
                model: input.model,
                base_url: baseUrl,
                custom_header_names: Object.keys(headers),
                key_last4: last4(input.apiKey!),
                probed_at: probe.checkedAt,
                ...(listPrice ? { list_price: listPrice } : {}),
              },
            },
            now,
          ),
        );
        if (!created) throw taken();
        await this.deps.audit.record(tx.audit, ctx, 'managed.model_card.create', created.id, { model_id: input.modelId, provider, base_url: baseUrl });
        return created;
      })
      .catch(async (e: unknown) => {
        await this.deps.secrets.delete(p.account.name, NAMESPACE, id);
        throw e;
      });
    return view(o);
  }

  async list(ctx: RequestContext, q: PageRequest & { limit: number }): Promise<Paged<ModelCardView>> {
    return listOwned(this.deps, ctx, 'model_card', q, { archived: 'include' }, view);
  }

  async get(ctx: RequestContext, id: string): Promise<ModelCardView> {
    return view(await readableObject(this.deps, ctx, 'model_card', id));
  }

  /** Rotates the key, base URL, headers or default model; the result is probed before it is saved. */
  async rotate(ctx: RequestContext, id: string, input: ModelCardInput): Promise<ModelCardView> {
    const p = writer(this.deps, ctx);
    const o = await ownedObject(this.deps.storage, 'model_card', id, p);
    const current = view(o);
    if (input.provider !== undefined && input.provider !== current.provider) throw badRequest(`provider cannot change from '${current.provider}'; create another card`);
    if (input.modelId !== undefined && input.modelId !== current.modelId) throw badRequest('model_id cannot change; create another card');
    const stored = await this.secret(p.account.name, o.id);
    const apiKey = input.apiKey ?? stored.api_key;
    if (apiKey.length === 0 || apiKey.length > 4096) throw badRequest('api_key must not be empty');
    const model = input.model ?? current.model;
    const baseUrl = input.baseUrl === undefined ? current.baseUrl : checkBaseUrl(current.provider, input.baseUrl);
    const headers = input.customHeaders === undefined ? stored.headers : checkHeaders(input.customHeaders);
    const listPrice = input.listPrice === undefined ? current.listPrice : input.listPrice === null ? null : checkListPrice(input.listPrice);
    const probe = await this.probeModelCard({ provider: current.provider, baseUrl, model, apiKey, headers });
    await this.deps.secrets.put(p.account.name, NAMESPACE, o.id, JSON.stringify({ api_key: apiKey, headers } satisfies StoredSecret));
    const now = isoNow(this.deps.clock);
    const { list_price: _old, ...rest } = o.data;
    const data = {
      ...rest,
      model,
      base_url: baseUrl,
      custom_header_names: Object.keys(headers),
      key_last4: last4(apiKey),
      probed_at: probe.checkedAt,
      ...(listPrice ? { list_price: listPrice } : {}),
    };
    await this.deps.storage.transaction(async (tx) => {
      await tx.managed.update(o.id, { data, updatedAt: now });
      await this.deps.audit.record(tx.audit, ctx, 'managed.model_card.rotate', o.id, { key_rotated: input.apiKey !== undefined, base_url: baseUrl });
    });
    return view({ ...o, data, updatedAt: now });
  }

  async delete(ctx: RequestContext, id: string): Promise<void> {
    const p = writer(this.deps, ctx);
    const o = await ownedObject(this.deps.storage, 'model_card', id, p);
    await this.deps.secrets.delete(p.account.name, NAMESPACE, o.id);
    await this.deps.storage.transaction(async (tx) => {
      await tx.managed.delete(o.id);
      await this.deps.audit.record(tx.audit, ctx, 'managed.model_card.delete', o.id, {});
    });
  }

  /** The cleartext key, for the agent runtime only (a `runtime` token); every read is audited. */
  async credentials(ctx: RequestContext, id: string): Promise<ModelCardCredentials> {
    this.deps.policy.requireRuntime(ctx);
    const o = await this.deps.storage.managed.find(id);
    const missing = () => notFound(`Model card ${id} not found`);
    if (!o || o.kind !== 'model_card') throw missing();
    // A runtime token reads only its own account's keys (unless made for all accounts).
    const { principal: p, owner } = this.deps.policy.requireRuntimeFor(ctx, await this.deps.storage.accounts.findById(o.accountId), missing);
    const stored = await this.secret(owner.name, o.id);
    await this.deps.audit.record(this.deps.storage.audit, ctx, 'managed.model_card.key_read', o.id, { owner: owner.name, ...(p.token.allAccounts ? { all_accounts: true } : {}) });
    return { card: view(o), apiKey: stored.api_key, customHeaders: stored.headers };
  }

  /**
   * The endpoint of the card `modelId` of an account, key decrypted, for the session runtime's
   * worker only (no door calls this): undefined when the account has no such card.
   */
  async endpointFor(
    accountId: number,
    modelId: string,
  ): Promise<{ provider: ModelProvider; baseUrl: string; model: string; apiKey: string; headers: Record<string, string>; listPrice?: ListPrice } | undefined> {
    const o = await this.deps.storage.managed.findByName('model_card', accountId, modelId);
    const owner = o && (await this.deps.storage.accounts.findById(o.accountId));
    if (!o || !owner) return undefined;
    const stored = await this.secret(owner.name, o.id);
    const card = view(o);
    return { provider: card.provider, baseUrl: card.baseUrl, model: card.model, apiKey: stored.api_key, headers: stored.headers, ...(card.listPrice ? { listPrice: card.listPrice } : {}) };
  }

  private async secret(owner: string, id: string): Promise<StoredSecret> {
    const text = await this.deps.secrets.get(owner, NAMESPACE, id);
    if (text === undefined) throw notFound(`Model card ${id} has no key in the secret store`);
    return JSON.parse(text) as StoredSecret;
  }

  private provider(p: string | undefined): ModelProvider {
    if (!p || !(MODEL_PROVIDERS as readonly string[]).includes(p)) throw badRequest(`provider must be one of ${MODEL_PROVIDERS.join(', ')}`);
    return p as ModelProvider;
  }
}
