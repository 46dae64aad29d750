import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { RequestContext } from '../auth/principal.js';
import { AgentryError, badRequest, notFound } from '../errors.js';
import { ownedObject, writer, type ManagedDeps } from '../managed/managed-deps.js';
import type { ManagedObjectRecord } from '../managed/managed-storage.js';
import { isoNow } from '../time.js';
import type { IntegrationCredentials } from './integration-credentials.js';
import { integrationView, type IntegrationView } from './integration-views.js';
import type { ChatApi, IntegrationProvider } from './provider.js';

const STATE_SECONDS = 10 * 60;

const stateMac = (key: string, id: string, expires: string, nonce: string, redirectUri: string): string =>
  createHmac('sha256', key).update(`${id}\n${expires}\n${nonce}\n${redirectUri}`).digest('base64url');

/** OAuth installs of an integration: the authorization URL with its signed state, and the callback that keeps the bot token. */
export class OAuthInstalls {
  constructor(
    private readonly deps: ManagedDeps,
    private readonly providers: ReadonlyMap<string, IntegrationProvider>,
    private readonly credentials: IntegrationCredentials,
    /** The chat platforms' Web APIs (throws when none is wired). */
    private readonly chat: () => ChatApi,
    private readonly onError?: (e: unknown, integrationId: string) => void,
  ) {}

  /**
   * The first leg of an OAuth install (002's `GET /v1/integrations/:id/install`): the platform's
   * authorization URL, with a `state` that binds the answer to this install and redirect URI for
   * ten minutes (an HMAC under the app's client secret: nothing is stored until the callback).
   */
  async url(ctx: RequestContext, id: string, redirectUri: string): Promise<{ url: string; state: string; redirect_uri: string }> {
    const p = writer(this.deps, ctx);
    const o = await ownedObject(this.deps.storage, 'integration', id, p);
    const provider = this.providerOf(o);
    const authorize = o.data.oauth_authorize_url as string | null;
    if (!authorize) throw badRequest(`Integration ${id} was installed with credentials; an OAuth install needs client_id and client_secret`);
    const c = await this.credentials.read(p.account.name, o);
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
  async complete(id: string, q: { code?: string; state?: string; error?: string; redirectUri: string }): Promise<IntegrationView> {
    const o = await this.deps.storage.managed.find(id);
    if (!o || o.kind !== 'integration' || !o.data.oauth_authorize_url) throw notFound(`Integration ${id} not found`);
    const account = await this.deps.storage.accounts.findById(o.accountId);
    if (!account) throw notFound(`Integration ${id} not found`);
    const c = await this.credentials.read(account.name, o);
    const [expires = '', nonce = '', mac = ''] = (q.state ?? '').split('.');
    const expected = Buffer.from(stateMac(c.client_secret ?? '', o.id, expires, nonce, q.redirectUri));
    const given = Buffer.from(mac);
    if (!q.state || given.length !== expected.length || !timingSafeEqual(given, expected)) throw badRequest('state does not belong to this install');
    if (!(Number(expires) > this.deps.clock.now().getTime() / 1000)) throw badRequest('state has expired: start the install again');
    if (q.error) throw badRequest(`The platform refused the install: ${q.error.slice(0, 100)}`);
    if (!q.code) throw badRequest('code is missing');
    let result;
    try {
      result = await this.chat().oauthAccess(String(o.data.api_base_url), { clientId: c.client_id ?? '', clientSecret: c.client_secret ?? '', code: q.code, redirectUri: q.redirectUri });
    } catch (e) {
      this.onError?.(e, o.id);
      throw new AgentryError('bad_gateway', 'The platform could not be reached to complete the install');
    }
    if (!result.ok) throw new AgentryError('bad_gateway', `The platform refused the code: ${result.error.slice(0, 100)}`);
    await this.credentials.put(account.name, o.id, 'bot_token', result.accessToken);
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
    return integrationView(updated);
  }

  private providerOf(o: ManagedObjectRecord): IntegrationProvider {
    const provider = this.providers.get(String(o.data.provider));
    if (!provider) throw notFound(`Integration ${o.id} not found`);
    return provider;
  }
}
