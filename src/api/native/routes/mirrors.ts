import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { notImplemented } from '../../../core/errors.js';
import type { MirrorRecord } from '../../../core/mirrors/mirror.js';
import type { MirrorService } from '../../../core/mirrors/mirror-service.js';
import type { MirrorSyncRecord, MirrorSyncService } from '../../../core/mirrors/mirror-sync.js';
import type { Registry } from '../../../core/registry.js';
import { requestContext } from '../../shared/request-context.js';
import type { NativeDoorOptions } from '../index.js';
import { SuccessMessage, errorResponses } from '../schemas.js';
import { strictOptionalBodyValidatorCompiler, strictValidatorCompiler } from '../../shared/strict-validator.js';

const MirrorVisibility = Type.String({
  maxLength: 40,
  examples: ['public', 'internal', 'private'],
  description:
    'Who may read what the mirror brings in (its packages, OCI repositories, MCP servers), owned by the organisation agentry-mirrors: public (anyone), internal (every signed-in account) or private (members of agentry-mirrors, administrators). Default: private for a mirror with a password (its login may read non-public objects upstream), public without one',
});

const TtlSeconds = Type.Integer({ minimum: 1, maximum: 31_536_000, description: 'How long tags and listings are served before the upstream is asked again (default 300)' });

const MirrorKind = Type.Union([Type.Literal('mcp'), Type.Literal('oci'), Type.Literal('agentry')], { description: 'What the upstream is: an MCP registry (/v0.1), an OCI registry, another Agentry' });

const MirrorBody = Type.Object(
  {
    kind: MirrorKind,
    name: Type.String({ minLength: 1, maxLength: 63, description: 'Lower-case letters, digits and -; an OCI mirror serves /v2/<name>/<upstream repository>' }),
    url: Type.String({ minLength: 1, maxLength: 2048, description: 'The upstream base URL (http:// or https://), without a login' }),
    username: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    password: Type.Optional(Type.String({ minLength: 1, maxLength: 8192, description: 'Kept in the secret store; never returned' })),
    ttl_seconds: Type.Optional(TtlSeconds),
    visibility: Type.Optional(MirrorVisibility),
  },
  { additionalProperties: false },
);

const MirrorChangeBody = Type.Object({ visibility: Type.Optional(MirrorVisibility), ttl_seconds: Type.Optional(TtlSeconds) }, { additionalProperties: false });

const MirrorView = Type.Object({
  name: Type.String(),
  kind: MirrorKind,
  url: Type.String(),
  username: Type.Union([Type.String(), Type.Null()]),
  has_password: Type.Boolean({ description: 'A password is kept in the secret store (it is never returned)' }),
  ttl_seconds: Type.Integer(),
  visibility: Type.Enum(['public', 'internal', 'private'], { description: 'Who may read what the mirror brings in' }),
  created_at: Type.String(),
});

const NameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 63 }) });

const viewOf = (m: MirrorRecord) => ({
  name: m.name,
  kind: m.kind,
  url: m.url,
  username: m.username,
  has_password: m.hasPassword,
  ttl_seconds: m.ttlSeconds,
  visibility: m.visibility,
  created_at: m.createdAt,
});

const SyncStatus = Type.Union([Type.Literal('queued'), Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('failed'), Type.Literal('cancelled')]);

const SyncBody = Type.Object(
  {
    filter: Type.Optional(
      Type.String({
        maxLength: 8192,
        description:
          "What to sync, in the mirror kind's terms. OCI: `[repository[,repository…]][:tag pattern]` (`*` and `?` in the pattern), e.g. `team/app,lib/tool:1.*`; without repositories, every repository the upstream's catalog lists",
      }),
    ),
    fresh: Type.Optional(Type.Boolean({ description: 'Start over rather than from the checkpoint of the last job when it was cancelled or failed with the same filter' })),
  },
  { additionalProperties: false },
);

const SyncView = Type.Object({
  id: Type.String(),
  mirror: Type.String(),
  kind: MirrorKind,
  status: SyncStatus,
  filter: Type.Union([Type.String(), Type.Null()]),
  progress: Type.Object({
    done: Type.Integer({ description: 'Items (OCI: tags) done' }),
    total: Type.Union([Type.Integer(), Type.Null()], { description: 'Items to do; null while the upstream is being listed' }),
    phase: Type.Union([Type.Literal('queued'), Type.Literal('listing'), Type.Literal('copying'), Type.Literal('finished')]),
  }),
  report: Type.Union(
    [
      Type.Object({
        added: Type.Array(Type.String(), { description: 'New in the mirror (OCI: repository:tag)' }),
        updated: Type.Array(Type.String(), { description: 'Moved upstream, or their content completed' }),
        unchanged: Type.Integer(),
        removed: Type.Array(Type.String(), { description: 'Gone upstream, so gone from the mirror' }),
        failed: Type.Array(Type.Object({ name: Type.String(), error: Type.String() })),
      }),
      Type.Null(),
    ],
    { description: 'What changed; set when the job succeeded' },
  ),
  error: Type.Union([Type.String(), Type.Null()], { description: 'Why the job failed as a whole' }),
  resumed_from: Type.Union([Type.String(), Type.Null()], { description: 'The interrupted job whose checkpoint this one started from' }),
  requested_by: Type.String(),
  created_at: Type.String(),
  started_at: Type.Union([Type.String(), Type.Null()]),
  finished_at: Type.Union([Type.String(), Type.Null()]),
});

const SyncParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 63 }), id: Type.String({ minLength: 1, maxLength: 100 }) });
const SyncListQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Newest first; default 20' })) });

const syncViewOf = (j: MirrorSyncRecord) => ({
  id: j.id,
  mirror: j.mirror,
  kind: j.kind,
  status: j.status,
  filter: j.filter,
  progress: { done: j.done, total: j.total, phase: j.phase },
  report: j.report,
  error: j.error,
  resumed_from: j.resumedFrom,
  requested_by: j.requestedBy,
  created_at: j.createdAt,
  started_at: j.startedAt,
  finished_at: j.finishedAt,
});

const syncsOf = (registry: Registry): MirrorSyncService => {
  if (!registry.mirrorSyncs) throw notImplemented('Mirror sync jobs are not offered by this server');
  return registry.mirrorSyncs;
};

const mirrorsOf = (registry: Registry): MirrorService => {
  if (!registry.mirrors) throw notImplemented('Mirrors are not offered by this server');
  return registry.mirrors;
};

/** Upstreams (pull-through mirrors), administrators only. */
export const mirrorRoutes: FastifyPluginAsyncTypebox<NativeDoorOptions> = async (app, { registry }) => {
  app.post('/mirrors', {
    schema: { tags: ['admin'], summary: 'Add an upstream (pull-through mirror) (admin)', body: MirrorBody, response: { 201: MirrorView, ...errorResponses } },
    // Unknown fields are refused, not dropped (a misspelt setting, as `ttl` for `ttl_seconds`, would be ignored).
    validatorCompiler: strictValidatorCompiler,
    handler: async (req, reply) => {
      const b = req.body;
      const m = await mirrorsOf(registry).add(await requestContext(registry, req), {
        kind: b.kind,
        name: b.name,
        url: b.url,
        ...(b.username !== undefined ? { username: b.username } : {}),
        ...(b.password !== undefined ? { password: b.password } : {}),
        ...(b.ttl_seconds !== undefined ? { ttlSeconds: b.ttl_seconds } : {}),
        ...(b.visibility !== undefined ? { visibility: b.visibility } : {}),
      });
      return reply.status(201).send(viewOf(m));
    },
  });

  app.patch('/mirrors/:name', {
    schema: {
      tags: ['admin'],
      summary: "Change an upstream's visibility or TTL (admin); a new visibility applies at once to everything it brought in",
      params: NameParams,
      body: MirrorChangeBody,
      response: { 200: MirrorView, ...errorResponses },
    },
    // Unknown fields are refused, not dropped (a misspelt setting would change nothing and say so).
    validatorCompiler: strictOptionalBodyValidatorCompiler,
    handler: async (req) => {
      const b = req.body;
      return viewOf(
        await mirrorsOf(registry).update(await requestContext(registry, req), req.params.name, {
          ...(b.visibility !== undefined ? { visibility: b.visibility } : {}),
          ...(b.ttl_seconds !== undefined ? { ttlSeconds: b.ttl_seconds } : {}),
        }),
      );
    },
  });

  app.get('/mirrors', {
    schema: { tags: ['admin'], summary: 'List upstreams (admin)', response: { 200: Type.Object({ mirrors: Type.Array(MirrorView) }), ...errorResponses } },
    handler: async (req) => ({ mirrors: (await mirrorsOf(registry).list(await requestContext(registry, req))).map(viewOf) }),
  });

  app.get('/mirrors/:name', {
    schema: { tags: ['admin'], summary: 'One upstream (admin)', params: NameParams, response: { 200: MirrorView, ...errorResponses } },
    handler: async (req) => viewOf(await mirrorsOf(registry).get(await requestContext(registry, req), req.params.name)),
  });

  app.delete('/mirrors/:name', {
    schema: {
      tags: ['admin'],
      summary: 'Remove an upstream and its password (admin); what an OCI upstream fetched is no longer served, packages an Agentry upstream fetched stay (read-only)',
      params: NameParams,
      response: { 200: SuccessMessage, ...errorResponses },
    },
    handler: async (req) => {
      await mirrorsOf(registry).remove(await requestContext(registry, req), req.params.name);
      return { success: true, message: `Mirror ${req.params.name} removed` };
    },
  });

  app.post('/mirrors/:name/sync', {
    schema: {
      tags: ['admin'],
      summary: "Start a sync job of an upstream (admin): it runs in the server's background worker; one at a time per mirror",
      params: NameParams,
      body: SyncBody,
      response: { 202: SyncView, ...errorResponses },
    },
    // Unknown fields are refused, not dropped; no body at all is an empty one.
    validatorCompiler: strictOptionalBodyValidatorCompiler,
    handler: async (req, reply) => {
      const b = req.body;
      const job = await syncsOf(registry).start(await requestContext(registry, req), req.params.name, {
        ...(b.filter !== undefined ? { filter: b.filter } : {}),
        ...(b.fresh !== undefined ? { fresh: b.fresh } : {}),
      });
      return reply
        .status(202)
        .header('location', `/api/v1/mirrors/${encodeURIComponent(job.mirror)}/syncs/${job.id}`)
        .send(syncViewOf(job));
    },
  });

  app.get('/mirrors/:name/syncs', {
    schema: {
      tags: ['admin'],
      summary: "An upstream's sync jobs, newest first (admin)",
      params: NameParams,
      querystring: SyncListQuery,
      response: { 200: Type.Object({ syncs: Type.Array(SyncView) }), ...errorResponses },
    },
    handler: async (req) => ({ syncs: (await syncsOf(registry).list(await requestContext(registry, req), req.params.name, req.query.limit ?? 20)).map(syncViewOf) }),
  });

  app.get('/mirrors/:name/syncs/:id', {
    schema: { tags: ['admin'], summary: 'One sync job: status, progress, report (admin)', params: SyncParams, response: { 200: SyncView, ...errorResponses } },
    handler: async (req) => syncViewOf(await syncsOf(registry).get(await requestContext(registry, req), req.params.name, req.params.id)),
  });

  app.delete('/mirrors/:name/syncs/:id', {
    schema: {
      tags: ['admin'],
      summary: 'Cancel a queued or running sync job (admin); what it copied stays, and the next sync with the same filter takes up from its checkpoint',
      params: SyncParams,
      response: { 200: SyncView, ...errorResponses },
    },
    handler: async (req) => syncViewOf(await syncsOf(registry).cancel(await requestContext(registry, req), req.params.name, req.params.id)),
  });
};
