import type { RequestContext } from '../auth/principal.js';
import { AgentryError, notFound, unauthorized } from '../errors.js';
import { newManagedId } from '../managed/ids.js';
import type { ManagedDeps } from '../managed/managed-deps.js';
import type { ManagedObjectRecord, NewManagedObject } from '../managed/managed-storage.js';
import { newManagedObject } from '../managed/new-managed-object.js';
import type { SessionService } from '../sessions/session-service.js';
import { isoNow } from '../time.js';
import type { IntegrationCredentials } from './integration-credentials.js';
import { integrationPublications } from './integration-publications.js';
import { InboundRefused, type InboundRequest, type IntegrationProvider } from './provider.js';
import type { ReplyRelays } from './reply-relay.js';

/** What the door answers an inbound webhook with. */
export type InboundOutcome = { kind: 'challenge'; challenge: string } | { kind: 'accepted'; sessionId: string } | { kind: 'ignored'; reason: string };

/** Inbound events of the platforms: a message in a published channel starts or continues its thread's session. */
export class InboundEvents {
  constructor(
    private readonly deps: ManagedDeps,
    private readonly sessions: SessionService,
    private readonly providers: ReadonlyMap<string, IntegrationProvider>,
    private readonly credentials: IntegrationCredentials,
    private readonly relays: ReplyRelays,
  ) {}

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
    const credentials = await this.credentials.read(account.name, o);
    let inbound;
    try {
      inbound = provider.readInbound(req, credentials, this.deps.clock.now().getTime());
    } catch (e) {
      if (e instanceof InboundRefused) throw unauthorized(`Inbound event refused: ${e.message}`);
      throw e;
    }
    if (inbound.kind !== 'message') return inbound;
    const pubs = await integrationPublications(this.deps.storage, o.accountId, o.id);
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
    const stream = await this.sessions.openStream(ctx, sessionId, { untilIdle: false, signal: this.relays.signal });
    const sent = await this.sessions.send(ctx, sessionId, [{ type: 'user.message', content: [{ type: 'text', text: inbound.text }] }]);
    this.relays.start(o, provider, account.name, stream, sent[0]?.id, { channel: inbound.channel, threadId: inbound.threadId });
    return { kind: 'accepted', sessionId };
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
