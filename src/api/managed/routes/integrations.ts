import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { callerOf } from '../caller.js';
import type { ManagedDoorOptions } from '../index.js';
import { listBody, ListOf, PageQuery, pageRequest } from '../paging.js';
import { Deleted, Nullable } from '../responses.js';
import { IdParams } from '../schemas.js';

const tags = ['integrations'];
const Id = Type.String({ minLength: 1, maxLength: 128 });
const PubParams = Type.Object({ id: Id, pub_id: Id });

const Integration = Type.Object({
  type: Type.Literal('integration'),
  id: Type.String(),
  provider: Type.String(),
  name: Type.String(),
  status: Type.Union([Type.Literal('active'), Type.Literal('pending')], { description: 'pending: an OAuth install whose callback has not come yet' }),
  api_base_url: Type.String(),
  oauth_authorize_url: Nullable(Type.String()),
  workspace: Nullable(Type.String()),
  credentials: Type.Array(Type.String(), { description: 'The names of the stored credentials; their values are never returned' }),
  events_path: Type.String({ description: "Where the platform sends events (the Slack app's Request URL, after the server's public URL)" }),
  last_delivery: Nullable(Type.Object({ ok: Type.Boolean(), error: Nullable(Type.String()), at: Type.String() })),
  created_at: Type.String(),
  updated_at: Type.String(),
});

const Provider = Type.Object({ id: Type.String(), name: Type.String(), credentials: Type.Array(Type.String()), default_api_base_url: Type.String() });

const Publication = Type.Object({
  type: Type.Literal('integration_publication'),
  id: Type.String(),
  integration_id: Type.String(),
  agent_id: Type.String(),
  environment_id: Nullable(Type.String()),
  workspace: Nullable(Type.String()),
  channel: Type.String(),
  created_at: Type.String(),
});

const CreateBody = Type.Object(
  {
    provider: Type.String({ minLength: 1, maxLength: 64, description: 'A shipped provider (slack)' }),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    credentials: Type.Record(Type.String({ maxLength: 64 }), Type.String({ minLength: 1, maxLength: 4096 }), {
      description: 'Slack: signing_secret, and bot_token (install by credentials) or client_id and client_secret (OAuth install); kept in the secret store, never returned',
    }),
    api_base_url: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, description: 'The Web API base (default https://slack.com/api); oauth.v2.access is called there too' })),
    oauth_authorize_url: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, description: 'OAuth install: the authorization page (default https://slack.com/oauth/v2/authorize)' })),
  },
  { additionalProperties: false },
);

const PublicationBody = Type.Object(
  {
    agent_id: Id,
    environment_id: Type.Optional(Id),
    workspace: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'The Slack team id; absent: any workspace of the install' })),
    channel: Type.String({ minLength: 1, maxLength: 128, description: 'The Slack channel id (C…)' }),
  },
  { additionalProperties: false },
);

/** `/v1/integrations` (002): installs of chat providers and their publications. Private to the account. */
export const integrationRoutes: FastifyPluginAsyncTypebox<ManagedDoorOptions> = async (app, { registry, publicUrl }) => {
  const integrations = registry.managed.integrations;
  /** The OAuth callback of an install, on this server's public URL (or the request's own origin). */
  const callbackUri = (req: { protocol: string; host: string }, id: string): string => `${publicUrl ?? `${req.protocol}://${req.host}`}/v1/integrations/${encodeURIComponent(id)}/oauth/callback`;

  app.get('/:id/install', {
    schema: {
      tags,
      summary: 'Start the OAuth install (002): the platform’s authorization URL to send the user to',
      params: IdParams,
      response: { 200: Type.Object({ url: Type.String(), state: Type.String(), redirect_uri: Type.String() }) },
    },
    handler: async (req) => integrations.installUrl(await callerOf(registry, req), req.params.id, callbackUri(req, req.params.id)),
  });

  app.get('/:id/oauth/callback', {
    config: { signedWebhook: true },
    schema: {
      tags,
      summary: 'OAuth install callback: the platform redirects here with code and state (checked against the install), no Agentry token',
      params: IdParams,
      querystring: Type.Object({
        code: Type.Optional(Type.String({ maxLength: 1024 })),
        state: Type.Optional(Type.String({ maxLength: 1024 })),
        error: Type.Optional(Type.String({ maxLength: 1024 })),
      }),
      response: { 200: Integration },
    },
    handler: async (req) => integrations.completeOAuth(req.params.id, { ...req.query, redirectUri: callbackUri(req, req.params.id) }),
  });

  app.get('/', {
    schema: {
      tags,
      summary: 'List the shipped providers and the caller’s installed integrations',
      querystring: Type.Object(PageQuery),
      response: { 200: Type.Object({ ...ListOf(Integration).properties, providers: Type.Array(Provider) }) },
    },
    handler: async (req) => ({ ...listBody(await integrations.list(await callerOf(registry, req), pageRequest(req.query)), (v) => v), providers: integrations.shipped() }),
  });

  app.post('/', {
    schema: { tags, summary: 'Install an integration with credentials (stored in the secret store, never returned)', body: CreateBody, response: { 200: Integration } },
    handler: async (req) =>
      integrations.create(await callerOf(registry, req), {
        provider: req.body.provider,
        name: req.body.name,
        credentials: req.body.credentials,
        apiBaseUrl: req.body.api_base_url,
        oauthAuthorizeUrl: req.body.oauth_authorize_url,
      }),
  });

  app.get('/:id', {
    schema: { tags, summary: 'Get an integration', params: IdParams, response: { 200: Integration } },
    handler: async (req) => integrations.get(await callerOf(registry, req), req.params.id),
  });

  const uninstall = async (req: { params: { id: string } } & Parameters<typeof callerOf>[1]) => {
    await integrations.delete(await callerOf(registry, req), req.params.id);
    return { id: req.params.id, type: 'integration_deleted' as const };
  };
  app.delete('/:id', {
    schema: { tags, summary: 'Delete (uninstall) an integration: its credentials and publications go', params: IdParams, response: { 200: Deleted('integration_deleted') } },
    handler: async (req) => uninstall(req),
  });
  app.post('/:id/uninstall', {
    schema: { tags, summary: 'Revoke the install (002): as DELETE', params: IdParams, response: { 200: Deleted('integration_deleted') } },
    handler: async (req) => uninstall(req),
  });

  app.get('/:id/publications', {
    schema: { tags, summary: 'List publications (which agents serve which channels)', params: IdParams, querystring: Type.Object(PageQuery), response: { 200: ListOf(Publication) } },
    handler: async (req) => listBody(await integrations.listPublications(await callerOf(registry, req), req.params.id, pageRequest(req.query)), (v) => v),
  });

  app.post('/:id/publications', {
    schema: { tags, summary: 'Publish an agent on a channel', params: IdParams, body: PublicationBody, response: { 200: Publication } },
    handler: async (req) =>
      integrations.createPublication(await callerOf(registry, req), req.params.id, {
        agentId: req.body.agent_id,
        environmentId: req.body.environment_id,
        workspace: req.body.workspace,
        channel: req.body.channel,
      }),
  });

  app.delete('/:id/publications/:pub_id', {
    schema: { tags, summary: 'Delete a publication', params: PubParams, response: { 200: Deleted('integration_publication_deleted') } },
    handler: async (req) => {
      await integrations.deletePublication(await callerOf(registry, req), req.params.id, req.params.pub_id);
      return { id: req.params.pub_id, type: 'integration_publication_deleted' as const };
    },
  });

  // The platform's webhook: no Agentry token (the provider checks the request's signature over
  // the raw body, so the body is kept as bytes here and parsed by the provider).
  await app.register(async (hook) => {
    hook.removeAllContentTypeParsers();
    hook.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    hook.post('/:id/events', {
      config: { signedWebhook: true },
      schema: {
        tags,
        summary: 'Inbound events from the platform (Slack Events API: signed with the signing secret; answers url_verification challenges)',
        params: IdParams,
        response: {
          200: Type.Union([Type.Object({ challenge: Type.String() }), Type.Object({ ok: Type.Literal(true), session_id: Type.Optional(Type.String()), ignored: Type.Optional(Type.String()) })]),
        },
      },
      handler: async (req) => {
        const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const headers: Record<string, string | undefined> = {};
        for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v[0] : v;
        const out = await integrations.receive((req.params as { id: string }).id, { headers, rawBody });
        if (out.kind === 'challenge') return { challenge: out.challenge };
        if (out.kind === 'accepted') return { ok: true as const, session_id: out.sessionId };
        return { ok: true as const, ignored: out.reason };
      },
    });
  });
};
