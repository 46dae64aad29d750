import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { pageLimit } from '../../../core/managed/page-token.js';
import { callerOf } from '../caller.js';
import type { ManagedDoorOptions } from '../index.js';
import * as R from '../responses.js';
import { Nullable } from '../responses.js';
import { IdParams } from '../schemas.js';

const tags = ['sessions'];

const Checkout = Type.Union([
  Type.Object({ type: Type.Literal('branch'), name: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('commit'), sha: Type.String({ minLength: 40, maxLength: 64 }) }, { additionalProperties: false }),
  Type.Null(),
]);

/**
 * What `POST /v1/sessions/:id/resources` takes: the SDK's file resource, and (as at session create) a
 * memory store or a repository. One object (the fields of each type are checked by the core): a union
 * here would lose fields to the validator's removal of unknown properties.
 */
const ResourceAddBody = Type.Object(
  {
    type: Type.Union([Type.Literal('file'), Type.Literal('memory_store'), Type.Literal('github_repository')]),
    file_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    memory_store_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    access: Type.Optional(Type.Union([Type.Literal('read_write'), Type.Literal('read_only'), Type.Null()])),
    instructions: Type.Optional(Nullable(Type.String({ maxLength: 4096 }))),
    url: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
    authorization_token: Type.Optional(Type.String({ maxLength: 4096 })),
    checkout: Type.Optional(Checkout),
    mount_path: Type.Optional(Nullable(Type.String({ maxLength: 1024 }))),
  },
  { additionalProperties: false },
);

const ResourceUpdateBody = Type.Object({ authorization_token: Type.String({ minLength: 1, maxLength: 4096 }) }, { additionalProperties: false });

/** A session resource as the SDK reads it (`BetaManagedAgentsSessionResource`); a repository's token is never in it. */
const SessionResource = Type.Unsafe<Record<string, unknown>>(
  Type.Object(
    {
      id: Type.String(),
      type: Type.Union([Type.Literal('file'), Type.Literal('memory_store'), Type.Literal('github_repository')]),
      mount_path: Type.Optional(Nullable(Type.String())),
      file_id: Type.Optional(Type.String()),
      memory_store_id: Type.Optional(Type.String()),
      access: Type.Optional(Type.Union([Type.Literal('read_write'), Type.Literal('read_only')])),
      instructions: Type.Optional(Nullable(Type.String())),
      name: Type.Optional(Nullable(Type.String())),
      description: Type.Optional(Type.String()),
      url: Type.Optional(Type.String()),
      checkout: Type.Optional(Checkout),
      created_at: Type.String(),
      updated_at: Type.String(),
    },
    { additionalProperties: false },
  ),
);

const ResourceList = Type.Object({ data: Type.Array(SessionResource), next_page: Type.Union([Type.String(), Type.Null()]), has_more: Type.Boolean() });
const ResourceParams = Type.Object({ id: IdParams.properties.id, rid: Type.String({ minLength: 1, maxLength: 128 }) });
const ListQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })), page: Type.Optional(Type.String({ maxLength: 500 })) });

/**
 * `/v1/sessions/:id/resources`: a session's files, memory stores and repositories (the SDK's
 * `sessions.resources`). Adding or removing one while the session runs is a 409; it applies from the
 * next turn. A repository's token can be rotated with `POST …/resources/:rid`.
 */
export const sessionResourceRoutes: FastifyPluginAsyncTypebox<ManagedDoorOptions> = async (app, { registry }) => {
  const resources = registry.managed.sessionResources;

  app.get('/:id/resources', {
    schema: { tags, summary: "List a session's resources", params: IdParams, querystring: ListQuery, response: { 200: ResourceList } },
    handler: async (req) => {
      const page = await resources.list(await callerOf(registry, req), req.params.id, { limit: pageLimit(req.query.limit), page: req.query.page || undefined });
      return { data: page.rows, next_page: page.nextPage, has_more: page.nextPage !== null };
    },
  });

  app.post('/:id/resources', {
    schema: { tags, summary: 'Add a resource to an idle session (mounted from its next turn; 409 while it runs)', params: IdParams, body: ResourceAddBody, response: { 200: SessionResource } },
    handler: async (req) => resources.add(await callerOf(registry, req), req.params.id, req.body),
  });

  app.get('/:id/resources/:rid', {
    schema: { tags, summary: 'Get a session resource', params: ResourceParams, response: { 200: SessionResource } },
    handler: async (req) => resources.get(await callerOf(registry, req), req.params.id, req.params.rid),
  });

  app.post('/:id/resources/:rid', {
    schema: { tags, summary: "Rotate a github_repository resource's authorization token", params: ResourceParams, body: ResourceUpdateBody, response: { 200: SessionResource } },
    handler: async (req) => resources.update(await callerOf(registry, req), req.params.id, req.params.rid, req.body),
  });

  app.delete('/:id/resources/:rid', {
    schema: {
      tags,
      summary: 'Remove a resource from an idle session (unmounted from its next turn; 409 while it runs)',
      params: ResourceParams,
      response: { 200: R.Deleted('session_resource_deleted') },
    },
    handler: async (req) => {
      await resources.delete(await callerOf(registry, req), req.params.id, req.params.rid);
      return { id: req.params.rid, type: 'session_resource_deleted' as const };
    },
  });
};
