import type { RequestContext } from '../auth/principal.js';
import { badRequest } from '../errors.js';
import { newManagedId } from '../managed/ids.js';
import { listOwned, ownedObject, readableObject, writer, type ManagedDeps } from '../managed/managed-deps.js';
import type { ManagedObjectRecord } from '../managed/managed-storage.js';
import type { Paged, PageRequest } from '../managed/page-token.js';
import type { SessionService } from '../sessions/session-service.js';
import { isoNow } from '../time.js';
import { InboundEvents, type InboundOutcome } from './inbound-events.js';
import { IntegrationCredentials } from './integration-credentials.js';
import { IntegrationPublications, type PublicationCreateInput } from './integration-publications.js';
import { integrationView, publicationView, type IntegrationView, type PublicationView } from './integration-views.js';
import { OAuthInstalls } from './oauth-install.js';
import type { ChatApi, InboundRequest, IntegrationProvider } from './provider.js';
import { ReplyRelays } from './reply-relay.js';
import { SlackProvider } from './slack.js';
import { newManagedObject } from '../managed/new-managed-object.js';

export interface IntegrationCreateInput {
  provider: string;
  name?: string;
  credentials: Record<string, string>;
  apiBaseUrl?: string;
  oauthAuthorizeUrl?: string;
}

export interface IntegrationOptions {
  /** The chat platforms' Web APIs (an adapter through the egress policy). */
  chat?: ChatApi;
  /** Told when a reply could not be delivered (for the server's log); never given secret values. */
  onError?: (e: unknown, integrationId: string) => void;
}

const NAME_MAX = 256;

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
  private readonly credentials: IntegrationCredentials;
  private readonly publications: IntegrationPublications;
  private readonly relays: ReplyRelays;
  private readonly inbound: InboundEvents;
  private readonly oauth: OAuthInstalls;

  constructor(
    private readonly deps: ManagedDeps,
    sessions: SessionService,
    private readonly opts: IntegrationOptions = {},
  ) {
    for (const p of [new SlackProvider()]) this.providers.set(p.id, p);
    const chat = () => this.requireChat();
    const onError = (e: unknown, integrationId: string) => this.opts.onError?.(e, integrationId);
    this.credentials = new IntegrationCredentials(deps.secrets);
    this.publications = new IntegrationPublications(deps);
    this.relays = new ReplyRelays(deps, this.credentials, chat, onError);
    this.inbound = new InboundEvents(deps, sessions, this.providers, this.credentials, this.relays);
    this.oauth = new OAuthInstalls(deps, this.providers, this.credentials, chat, onError);
  }

  /** The shipped providers. */
  shipped(): Array<{ id: string; name: string; credentials: string[]; default_api_base_url: string }> {
    return [...this.providers.values()].map((p) => ({ id: p.id, name: p.displayName, credentials: [...p.credentialNames], default_api_base_url: p.defaultApiBaseUrl }));
  }

  view(o: ManagedObjectRecord): IntegrationView {
    return integrationView(o);
  }

  publicationView(o: ManagedObjectRecord): PublicationView {
    return publicationView(o);
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
      for (const [k, v] of Object.entries(credentials)) await this.credentials.put(p.account.name, o.id, k, v);
    } catch (e) {
      await this.credentials.deleteAll(p.account.name, o.id);
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
    await this.credentials.deleteAll(p.account.name, o.id);
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

  createPublication(ctx: RequestContext, integrationId: string, input: PublicationCreateInput): Promise<PublicationView> {
    return this.publications.create(ctx, integrationId, input);
  }

  listPublications(ctx: RequestContext, integrationId: string, q: PageRequest & { limit: number }): Promise<Paged<PublicationView>> {
    return this.publications.list(ctx, integrationId, q);
  }

  deletePublication(ctx: RequestContext, integrationId: string, publicationId: string): Promise<void> {
    return this.publications.delete(ctx, integrationId, publicationId);
  }

  /**
   * An inbound webhook (no Agentry token: the provider authenticates it with the install's
   * credentials). A message in a published channel starts or continues the thread's session;
   * the reply is posted when the turn ends, after this answers (platforms want a quick 200).
   */
  receive(integrationId: string, req: InboundRequest): Promise<InboundOutcome> {
    return this.inbound.receive(integrationId, req);
  }

  /** The first leg of an OAuth install: the platform's authorization URL, with a signed `state` (oauth-install.ts). */
  installUrl(ctx: RequestContext, id: string, redirectUri: string): Promise<{ url: string; state: string; redirect_uri: string }> {
    return this.oauth.url(ctx, id, redirectUri);
  }

  /** The OAuth callback: checks the state, exchanges the code for the bot token and keeps it in the secret store. */
  completeOAuth(id: string, q: { code?: string; state?: string; error?: string; redirectUri: string }): Promise<IntegrationView> {
    return this.oauth.complete(id, q);
  }

  /** Stops waiting for replies (server shutdown). */
  close(): Promise<void> {
    return this.relays.close();
  }

  private requireChat(): ChatApi {
    if (!this.opts.chat) throw new Error('no chat API adapter is wired');
    return this.opts.chat;
  }
}
