import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { RequestContext } from '../auth/principal.js';
import { AgentryError, badRequest, notFound, unauthorized } from '../errors.js';
import { newManagedId } from '../managed/ids.js';
import { listOwned, ownedObject, readableObject, writer, type ManagedDeps } from '../managed/managed-deps.js';
import type { ManagedObjectRecord, NewManagedObject } from '../managed/managed-storage.js';
import type { Paged, PageRequest } from '../managed/page-token.js';
import type { SessionService } from '../sessions/session-service.js';
import type { StreamItem } from '../sessions/session-stream.js';
import { isoNow } from '../time.js';
import { InboundRefused, type ChatApi, type InboundRequest, type IntegrationProvider, type PostResult } from './provider.js';
import { SlackProvider } from './slack.js';
import { newManagedObject } from '../managed/new-managed-object.js';
import { PendingWork } from '../pending-work.js';

export interface IntegrationView {
  type: 'integration';
  id: string;
  provider: string;
  name: string;
  /** active: it has its bot token; pending: an OAuth install not completed yet. */
  status: 'active' | 'pending';
  api_base_url: string;
  /** Where an OAuth install sends the user (null: installed by credentials). */
  oauth_authorize_url: string | null;
  /** The workspace an OAuth install was granted in (Slack team id). */
  workspace: string | null;
  /** Which credentials are stored (names only; values never leave the secret store). */
  credentials: string[];
  /** Where the platform sends events (relative to the server's public URL). */
  events_path: string;
  last_delivery: { ok: boolean; error: string | null; at: string } | null;
  created_at: string;
  updated_at: string;
}

export interface PublicationView {
  type: 'integration_publication';
  id: string;
  integration_id: string;
  agent_id: string;
  environment_id: string | null;
  workspace: string | null;
  channel: string;
  created_at: string;
}

export interface IntegrationCreateInput {
  provider: string;
  name?: string;
  credentials: Record<string, string>;
  apiBaseUrl?: string;
  oauthAuthorizeUrl?: string;
}

export interface PublicationCreateInput {
  agentId: string;
  environmentId?: string;
  workspace?: string;
  channel: string;
}

/** What the door answers an inbound webhook with. */
export type InboundOutcome = { kind: 'challenge'; challenge: string } | { kind: 'accepted'; sessionId: string } | { kind: 'ignored'; reason: string };

export interface IntegrationOptions {
  /** The chat platforms' Web APIs (an adapter through the egress policy). */
  chat?: ChatApi;
  /** Told when a reply could not be delivered (for the server's log); never given secret values. */
  onError?: (e: unknown, integrationId: string) => void;
}

const namespaceOf = (id: string): string => `integrations/${id}`;
const STATE_SECONDS = 10 * 60;
const MAX_POST_ATTEMPTS = 3;

const httpUrl = (field: string, value: string): string => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw badRequest(`${field} must be an absolute http(s) URL`);
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password || url.search || url.hash) {
    throw badRequest(`${field} must be an http(s) URL without credentials, query or fragment`);
  }
  return value;
};

const stateMac = (key: string, id: string, expires: string, nonce: string, redirectUri: string): string =>
  createHmac('sha256', key).update(`${id}\n${expires}\n${nonce}\n${redirectUri}`).digest('base64url');
const NAME_MAX = 256;
const ID_MAX = 128;

/**
 * Integrations (issue 14, point 6): installs of chat providers, private to their account, with
 * their credentials in the secret store (never returned), and publications binding an agent to
 * a workspace/channel. An inbound event, authenticated by the provider with the install's
 * credentials, starts a session for the published agent (one per thread) or continues the
 * thread's session; when the turn ends, the agent's reply is posted back through the provider.
 * The session acts with the authority of the token that installed the integration: revoking it stops the integration.
 */
export class IntegrationService {
  private readonly providers = new Map<string, IntegrationProvider>();
  private readonly relays = new PendingWork();
  private readonly closing = new AbortController();

  constructor(
    private readonly deps: ManagedDeps,
    private readonly sessions: SessionService,
    private readonly opts: IntegrationOptions = {},
  ) {
    for (const p of [new SlackProvider()]) this.providers.set(p.id, p);
  }

  /** The shipped providers. */
  shipped(): Array<{ id: string; name: string; credentials: string[]; default_api_base_url: string }> {
    return [...this.providers.values()].map((p) => ({ id: p.id, name: p.displayName, credentials: [...p.credentialNames], default_api_base_url: p.defaultApiBaseUrl }));
  }

  view(o: ManagedObjectRecord): IntegrationView {
    const d = o.data;
    return {
      type: 'integration',
      id: o.id,
      provider: String(d.provider),
      name: o.name ?? String(d.provider),
      status: ((d.credentials as string[]) ?? []).includes('bot_token') ? 'active' : 'pending',
      api_base_url: String(d.api_base_url),
      oauth_authorize_url: (d.oauth_authorize_url as string | null) ?? null,
      workspace: (d.workspace as string | null) ?? null,
      credentials: (d.credentials as string[]) ?? [],
      events_path: `/v1/integrations/${o.id}/events`,
      last_delivery: (d.last_delivery as IntegrationView['last_delivery']) ?? null,
      created_at: o.createdAt,
      updated_at: o.updatedAt,
    };
  }

  publicationView(o: ManagedObjectRecord): PublicationView {
    const d = o.data;
    return {
      type: 'integration_publication',
      id: o.id,
      integration_id: o.parentId ?? '',
      agent_id: String(d.agent_id),
      environment_id: (d.environment_id as string | null) ?? null,
      workspace: (d.workspace as string | null) ?? null,
      channel: String(d.channel),
      created_at: o.createdAt,
    };
  }

  async create(ctx: RequestContext, input: IntegrationCreateInput): Promise<IntegrationView> {
    const p = writer(this.deps, ctx);
    const provider = this.providers.get(input.provider);
    if (!provider) throw badRequest(`provider: unknown provider '${input.provider.slice(0, 64)}' (shipped: ${[...this.providers.keys()].join(', ')})`);
    const credentials: Record<string, string> = {};
    for (const [k, v] of Object.entries(input.credentials ?? {})) {
      if (!provider.credentialNames.includes(k)) throw badRequest(`credentials.${k.slice(0, 64)} is not a ${provider.displayName} credential (expected: ${provider.credentialNames.join(', ')})`);
      credentials[k] = v;
    }
    const problems = provider.checkCredentials(credentials);
    if (problems.length > 0) throw badRequest('Invalid credentials', problems);
    const apiBaseUrl = httpUrl('api_base_url', (input.apiBaseUrl ?? provider.defaultApiBaseUrl).replace(/\/+$/, ''));
    const oauth = credentials.client_id !== undefined;
    const authorizeUrl = oauth ? httpUrl('oauth_authorize_url', input.oauthAuthorizeUrl ?? provider.defaultAuthorizeUrl) : null;
    if (!oauth && input.oauthAuthorizeUrl !== undefined) throw badRequest('oauth_authorize_url is for an OAuth install (credentials client_id and client_secret)');
    const name = input.name ?? provider.displayName;
    if (name.length === 0 || name.length > NAME_MAX) throw badRequest(`name must be 1 to ${NAME_MAX} characters`);
    const now = isoNow(this.deps.clock);
    const o = await this.deps.storage.managed.insert(
      newManagedObject(
        {
          id: newManagedId('intg'),
          kind: 'integration',
          accountId: p.account.id,
          name,
          data: { provider: provider.id, api_base_url: apiBaseUrl, oauth_authorize_url: authorizeUrl, credentials: Object.keys(credentials).sort(), installed_by_token: p.token.id },
        },
        now,
      ),
    );
    try {
      for (const [k, v] of Object.entries(credentials)) await this.deps.secrets.put(p.account.name, namespaceOf(o.id), k, v);
    } catch (e) {
      await this.deleteSecrets(p.account.name, o.id);
      await this.deps.storage.managed.delete(o.id);
      throw e;
    }
    await this.deps.audit.record(this.deps.storage.audit, ctx, 'managed.integration.create', o.id, { provider: provider.id });
    return this.view(o);
  }

  async list(ctx: RequestContext, q: PageRequest & { limit: number }): Promise<Paged<IntegrationView>> {
    return listOwned(this.deps, ctx, 'integration', q, { archived: 'exclude' }, (o) => this.view(o));
  }

  async get(ctx: RequestContext, id: string): Promise<IntegrationView> {
    return this.view(await readableObject(this.deps, ctx, 'integration', id));
  }

  /** Uninstalls: the credentials leave the secret store; publications, threads and seen events go too (the sessions stay). */
  async delete(ctx: RequestContext, id: string): Promise<void> {
    const p = writer(this.deps, ctx);
    const o = await ownedObject(this.deps.storage, 'integration', id, p);
    await this.deleteSecrets(p.account.name, o.id);
    await this.deps.storage.transaction(async (tx) => {
      for (const kind of ['integration_publication', 'integration_thread', 'integration_event'] as const) {
        for (;;) {
          const rows = await tx.managed.list({ kind, accountIds: [p.account.id], parentId: o.id, archived: 'include', limit: 500 });
          for (const r of rows) await tx.managed.delete(r.id);
          if (rows.length < 500) break;
        }
      }
      await tx.managed.delete(o.id);
      await this.deps.audit.record(tx.audit, ctx, 'managed.integration.delete', o.id, {});
    });
  }

  async createPublication(ctx: RequestContext, integrationId: string, input: PublicationCreateInput): Promise<PublicationView> {
    const p = writer(this.deps, ctx);
    const integration = await ownedObject(this.deps.storage, 'integration', integrationId, p);
    const channel = input.channel.trim();
    if (!channel || channel.length > ID_MAX) throw badRequest(`channel must be 1 to ${ID_MAX} characters`);
    if (input.workspace !== undefined && (!input.workspace || input.workspace.length > ID_MAX)) throw badRequest(`workspace must be 1 to ${ID_MAX} characters`);
    const agent = await ownedObject(this.deps.storage, 'agent', input.agentId, p).catch(() => undefined);
    if (!agent || agent.archivedAt) throw badRequest(`agent_id: agent ${input.agentId} not found`);
    if (input.environmentId !== undefined) {
      const env = await ownedObject(this.deps.storage, 'environment', input.environmentId, p).catch(() => undefined);
      if (!env || env.archivedAt) throw badRequest(`environment_id: environment ${input.environmentId} not found`);
    } else if (!(agent.data.environment_id as string | undefined)) {
      throw badRequest("missing required field 'environment_id' (the agent names no environment either)");
    }
    const existing = await this.publications(p.account.id, integration.id);
    if (existing.some((e) => e.data.channel === channel && ((e.data.workspace as string | null) ?? null) === (input.workspace ?? null))) {
      throw badRequest(`channel ${channel} is already published on this integration`);
    }
    const now = isoNow(this.deps.clock);
    const o = await this.deps.storage.managed.insert(
      newManagedObject(
        {
          id: newManagedId('ipub'),
          kind: 'integration_publication',
          accountId: p.account.id,
          parentId: integration.id,
          refId: agent.id,
          data: { agent_id: agent.id, environment_id: input.environmentId ?? null, workspace: input.workspace ?? null, channel },
        },
        now,
      ),
    );
    await this.deps.audit.record(this.deps.storage.audit, ctx, 'managed.integration_publication.create', o.id, { integration: integration.id, agent: agent.id });
    return this.publicationView(o);
  }

  async listPublications(ctx: RequestContext, integrationId: string, q: PageRequest & { limit: number }): Promise<Paged<PublicationView>> {
    const integration = await readableObject(this.deps, ctx, 'integration', integrationId);
    return listOwned(this.deps, ctx, 'integration_publication', q, { archived: 'exclude', parentId: integration.id }, (o) => this.publicationView(o));
  }

  async deletePublication(ctx: RequestContext, integrationId: string, publicationId: string): Promise<void> {
    const p = writer(this.deps, ctx);
    const integration = await ownedObject(this.deps.storage, 'integration', integrationId, p);
    const o = await ownedObject(this.deps.storage, 'integration_publication', publicationId, p);
    if (o.parentId !== integration.id) throw notFound(`Publication ${publicationId} not found`);
    await this.deps.storage.managed.delete(o.id);
    await this.deps.audit.record(this.deps.storage.audit, ctx, 'managed.integration_publication.delete', o.id, { integration: integration.id });
  }

  /**
   * An inbound webhook (no Agentry token: the provider authenticates it with the install's
   * credentials). A message in a published channel starts or continues the thread's session;
   * the reply is posted when the turn ends, after this answers (platforms want a quick 200).
   */
  async receive(integrationId: string, req: InboundRequest): Promise<InboundOutcome> {
    const o = await this.deps.storage.managed.find(integrationId);
    if (!o || o.kind !== 'integration') throw notFound(`Integration ${integrationId} not found`);
    const provider = this.providers.get(String(o.data.provider));
    const account = await this.deps.storage.accounts.findById(o.accountId);
    if (!provider || !account) throw notFound(`Integration ${integrationId} not found`);
    const credentials = await this.credentials(account.name, o);
    let inbound;
    try {
      inbound = provider.readInbound(req, credentials, this.deps.clock.now().getTime());
    } catch (e) {
      if (e instanceof InboundRefused) throw unauthorized(`Inbound event refused: ${e.message}`);
      throw e;
    }
    if (inbound.kind !== 'message') return inbound;
    const pubs = await this.publications(o.accountId, o.id);
    const pub = pubs.find((x) => x.data.channel === inbound.channel && (x.data.workspace == null || x.data.workspace === inbound.workspace));
    if (!pub) return { kind: 'ignored', reason: `channel ${inbound.channel} is not published` };
    const token = await this.deps.storage.tokens.findById(Number(o.data.installed_by_token));
    const now = this.deps.clock.now().getTime();
    if (!token || token.revokedAt || (token.expiresAt && Date.parse(token.expiresAt) <= now) || token.accountId !== account.id) {
      throw new AgentryError('forbidden', 'The token that installed this integration is no longer valid; install it again');
    }
    // Platforms retry deliveries (and a captured request can be replayed within the signature's window): one event, one turn.
    if (!(await this.claimName('integration_event', o, `${o.id}:${inbound.eventId}`, {})).created) return { kind: 'ignored', reason: 'event already received' };
    const ctx: RequestContext = { principal: { account, token }, ip: null };
    const threadKey = `${o.id}:${inbound.channel}:${inbound.threadId}`;
    let thread = await this.deps.storage.managed.findByName('integration_thread', o.accountId, threadKey);
    if (thread) {
      // The thread's session was deleted, archived or terminated since: the thread starts over.
      const current = await this.sessions.get(ctx, String(thread.data.session_id)).catch((e: unknown) => {
        if (e instanceof AgentryError && e.code === 'not_found') return undefined;
        throw e;
      });
      if (!current || current.archived_at !== null || current.status === 'terminated') {
        await this.deps.storage.managed.delete(thread.id);
        thread = undefined;
      }
    }
    if (!thread) {
      const session = await this.sessions.create(ctx, {
        agent: pub.data.agent_id,
        environment_id: (pub.data.environment_id as string | null) ?? undefined,
        title: `${provider.displayName} ${inbound.channel} ${inbound.threadId}`.slice(0, 512),
        metadata: { integration_id: o.id, channel: inbound.channel.slice(0, 128), thread: inbound.threadId.slice(0, 128) },
      });
      const claimed = await this.claimName('integration_thread', o, threadKey, { session_id: session.id, channel: inbound.channel, thread: inbound.threadId });
      // Two first messages of one thread at once: the other made its session first; this one's goes.
      if (!claimed.created) await this.sessions.delete(ctx, session.id).catch(() => undefined);
      thread = claimed.record;
    }
    const sessionId = String(thread.data.session_id);
    const stream = await this.sessions.openStream(ctx, sessionId, { untilIdle: false, signal: this.closing.signal });
    const sent = await this.sessions.send(ctx, sessionId, [{ type: 'user.message', content: [{ type: 'text', text: inbound.text }] }]);
    void this.relays.track(this.relay(o, provider, account.name, stream, sent[0]?.id, { channel: inbound.channel, threadId: inbound.threadId }));
    return { kind: 'accepted', sessionId };
  }

  /**
   * The first leg of an OAuth install (002's `GET /v1/integrations/:id/install`): the platform's
   * authorization URL, with a `state` that binds the answer to this install and redirect URI for
   * ten minutes (an HMAC under the app's client secret: nothing is stored until the callback).
   */
  async installUrl(ctx: RequestContext, id: string, redirectUri: string): Promise<{ url: string; state: string; redirect_uri: string }> {
    const p = writer(this.deps, ctx);
    const o = await ownedObject(this.deps.storage, 'integration', id, p);
    const provider = this.providerOf(o);
    const authorize = o.data.oauth_authorize_url as string | null;
    if (!authorize) throw badRequest(`Integration ${id} was installed with credentials; an OAuth install needs client_id and client_secret`);
    const c = await this.credentials(p.account.name, o);
    const expires = String(Math.floor(this.deps.clock.now().getTime() / 1000) + STATE_SECONDS);
    const nonce = randomBytes(12).toString('base64url');
    const state = `${expires}.${nonce}.${stateMac(c.client_secret ?? '', o.id, expires, nonce, redirectUri)}`;
    const url = new URL(authorize);
    url.searchParams.set('client_id', c.client_id ?? '');
    url.searchParams.set('scope', provider.oauthScopes.join(','));
    url.searchParams.set('redirect_uri', redirectUri);
    url.searchParams.set('state', state);
    return { url: url.toString(), state, redirect_uri: redirectUri };
  }

  /**
   * The OAuth callback (the platform redirects the user's browser here, without an Agentry
   * token): checks the state, exchanges the code for the bot token and keeps it in the secret store.
   */
  async completeOAuth(id: string, q: { code?: string; state?: string; error?: string; redirectUri: string }): Promise<IntegrationView> {
    const o = await this.deps.storage.managed.find(id);
    if (!o || o.kind !== 'integration' || !o.data.oauth_authorize_url) throw notFound(`Integration ${id} not found`);
    const account = await this.deps.storage.accounts.findById(o.accountId);
    if (!account) throw notFound(`Integration ${id} not found`);
    const c = await this.credentials(account.name, o);
    const [expires = '', nonce = '', mac = ''] = (q.state ?? '').split('.');
    const expected = Buffer.from(stateMac(c.client_secret ?? '', o.id, expires, nonce, q.redirectUri));
    const given = Buffer.from(mac);
    if (!q.state || given.length !== expected.length || !timingSafeEqual(given, expected)) throw badRequest('state does not belong to this install');
    if (!(Number(expires) > this.deps.clock.now().getTime() / 1000)) throw badRequest('state has expired: start the install again');
    if (q.error) throw badRequest(`The platform refused the install: ${q.error.slice(0, 100)}`);
    if (!q.code) throw badRequest('code is missing');
    let result;
    try {
      result = await this.requireChat().oauthAccess(String(o.data.api_base_url), { clientId: c.client_id ?? '', clientSecret: c.client_secret ?? '', code: q.code, redirectUri: q.redirectUri });
    } catch (e) {
      this.opts.onError?.(e, o.id);
      throw new AgentryError('bad_gateway', 'The platform could not be reached to complete the install');
    }
    if (!result.ok) throw new AgentryError('bad_gateway', `The platform refused the code: ${result.error.slice(0, 100)}`);
    await this.deps.secrets.put(account.name, namespaceOf(o.id), 'bot_token', result.accessToken);
    const now = isoNow(this.deps.clock);
    const updated = await this.deps.storage.transaction(async (tx) => {
      const cur = await tx.managed.lock(o.id);
      if (!cur) throw notFound(`Integration ${id} not found`);
      const credentials = [...new Set([...((cur.data.credentials as string[]) ?? []), 'bot_token'])].sort();
      const data = { ...cur.data, credentials, workspace: result.workspace, workspace_name: result.workspaceName };
      await tx.managed.update(o.id, { data, updatedAt: now });
      return { ...cur, data, updatedAt: now };
    });
    await this.deps.audit.record(this.deps.storage.audit, { principal: null, ip: null }, 'managed.integration.oauth_install', o.id, { workspace: result.workspace });
    return this.view(updated);
  }

  private providerOf(o: ManagedObjectRecord): IntegrationProvider {
    const provider = this.providers.get(String(o.data.provider));
    if (!provider) throw notFound(`Integration ${o.id} not found`);
    return provider;
  }

  /** Stops waiting for replies (server shutdown). */
  async close(): Promise<void> {
    this.closing.abort();
    await this.relays.settled();
  }

  /** Reads the session until the turn started by `userEventId` ends, then posts the agent's text back. */
  private async relay(
    o: ManagedObjectRecord,
    provider: IntegrationProvider,
    owner: string,
    stream: AsyncGenerator<StreamItem>,
    userEventId: string | undefined,
    where: { channel: string; threadId: string },
  ): Promise<void> {
    try {
      let seen = userEventId === undefined;
      const texts: string[] = [];
      let stop: unknown;
      for await (const item of stream) {
        if (item.kind !== 'event') continue;
        const ev = item.event;
        if (!seen) {
          seen = ev.id === userEventId;
          continue;
        }
        if (ev.type === 'agent.message' && Array.isArray(ev.content)) {
          for (const b of ev.content as Array<Record<string, unknown>>) if (b.type === 'text' && typeof b.text === 'string') texts.push(b.text);
        }
        if (ev.type === 'session.status_idle' || ev.type === 'session.status_terminated' || ev.type === 'session.deleted') {
          stop = (ev.stop_reason as Record<string, unknown> | undefined)?.type;
          break;
        }
      }
      const text = texts.join('\n\n').trim();
      if (this.closing.signal.aborted || text === '' || (stop !== undefined && stop !== 'end_turn')) return;
      const credentials = await this.credentials(owner, o);
      let result: PostResult;
      for (let attempt = 1; ; attempt++) {
        try {
          result = await provider.postReply(this.requireChat(), String(o.data.api_base_url), credentials, { ...where, text });
        } catch (e) {
          this.opts.onError?.(e, o.id);
          result = { ok: false, error: 'the platform could not be reached' };
        }
        // Rate limited: wait as the platform says (at most a minute), up to three attempts in all.
        if (result.ok || result.retryAfterSeconds === undefined || attempt >= MAX_POST_ATTEMPTS || this.closing.signal.aborted) break;
        await this.pause(Math.min(result.retryAfterSeconds, 60) * 1000);
      }
      await this.recordDelivery(o.id, result);
    } catch (e) {
      this.opts.onError?.(e, o.id);
    }
  }

  /** Waits `ms`, or less when the service closes. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.closing.signal.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.closing.signal.addEventListener('abort', done);
    });
  }

  private requireChat(): ChatApi {
    if (!this.opts.chat) throw new Error('no chat API adapter is wired');
    return this.opts.chat;
  }

  private async recordDelivery(id: string, result: PostResult): Promise<void> {
    await this.deps.storage.transaction(async (tx) => {
      const cur = await tx.managed.lock(id);
      if (!cur) return;
      const at = isoNow(this.deps.clock);
      await tx.managed.update(id, { data: { ...cur.data, last_delivery: { ok: result.ok, error: result.ok ? null : result.error.slice(0, 200), at } }, updatedAt: at });
    });
  }

  private async credentials(owner: string, o: ManagedObjectRecord): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const k of (o.data.credentials as string[]) ?? []) {
      const v = await this.deps.secrets.get(owner, namespaceOf(o.id), k);
      if (v !== undefined) out[k] = v;
    }
    return out;
  }

  private async deleteSecrets(owner: string, id: string): Promise<void> {
    for (const key of await this.deps.secrets.list(owner, namespaceOf(id))) await this.deps.secrets.delete(owner, namespaceOf(id), key);
  }

  private publications(accountId: number, integrationId: string): Promise<ManagedObjectRecord[]> {
    return this.deps.storage.managed.list({ kind: 'integration_publication', accountIds: [accountId], parentId: integrationId, archived: 'exclude', limit: 1000 });
  }

  /**
   * Inserts a record named `name` unless one is there (a unique index on integration records'
   * names, migration 0021, decides between racing processes). Outside any transaction, so a
   * refused insert spoils nothing on PostgreSQL.
   */
  private async claimName(
    kind: 'integration_thread' | 'integration_event',
    o: ManagedObjectRecord,
    name: string,
    data: Record<string, unknown>,
  ): Promise<{ created: boolean; record: ManagedObjectRecord }> {
    const found = await this.deps.storage.managed.findByName(kind, o.accountId, name);
    if (found) return { created: false, record: found };
    const now = isoNow(this.deps.clock);
    const row: NewManagedObject = newManagedObject(
      {
        id: newManagedId(kind === 'integration_thread' ? 'ithr' : 'ievt'),
        kind,
        accountId: o.accountId,
        parentId: o.id,
        name,
        data,
      },
      now,
    );
    try {
      return { created: true, record: await this.deps.storage.managed.insert(row) };
    } catch (e) {
      const again = await this.deps.storage.managed.findByName(kind, o.accountId, name);
      if (again) return { created: false, record: again };
      throw e;
    }
  }
}
