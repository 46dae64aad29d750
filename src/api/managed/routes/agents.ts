import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { badRequest } from '../../../core/errors.js';
import { parseRevision } from '../../../core/managed/revision-history.js';
import { callerOf } from '../caller.js';
import type { ManagedDoorOptions } from '../index.js';
import { listBody, ListOf, PageQuery, pageRequest } from '../paging.js';
import { Agent, AgentPackage } from '../responses.js';
import { AgentCreateBody, AgentUpdateBody, IdParams } from '../schemas.js';
import { agentJson } from '../views.js';

const tags = ['managed agents'];
const VersionParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }), version: Type.String({ maxLength: 20 }) });

const revision = (value: string | number): number => {
  const n = parseRevision(value);
  if (n === undefined) throw badRequest(`version must be a whole number from 1 (got '${String(value)}')`);
  return n;
};

/** `/v1/agents`: 002's routes and the SDK's (POST for update, POST …/archive). */
export const agentRoutes: FastifyPluginAsyncTypebox<ManagedDoorOptions> = async (app, { registry }) => {
  const agents = registry.managed.agents;

  app.post('/', {
    schema: { tags, summary: 'Create an agent (version 1)', body: AgentCreateBody, response: { 200: Agent } },
    handler: async (req) => agentJson(await agents.create(await callerOf(registry, req), req.body)),
  });

  app.get('/', {
    schema: {
      tags,
      summary: 'List agents, newest first',
      querystring: Type.Object({ ...PageQuery, archived: Type.Optional(Type.Boolean()), include_archived: Type.Optional(Type.Boolean()) }),
      response: { 200: ListOf(Agent) },
    },
    handler: async (req) => {
      const page = await agents.list(await callerOf(registry, req), { ...pageRequest(req.query), archived: req.query.archived, includeArchived: req.query.include_archived });
      return listBody(page, agentJson);
    },
  });

  app.get('/:id', {
    schema: {
      tags,
      summary: 'Get an agent (its current version, or ?version=N)',
      params: IdParams,
      querystring: Type.Object({ version: Type.Optional(Type.String({ maxLength: 20 })) }),
      response: { 200: Agent },
    },
    handler: async (req) => {
      const version = req.query.version === undefined ? undefined : revision(req.query.version);
      return agentJson(await agents.get(await callerOf(registry, req), req.params.id, version));
    },
  });

  app.get('/:id/versions', {
    schema: { tags, summary: "List an agent's versions, newest first", params: IdParams, querystring: Type.Object(PageQuery), response: { 200: ListOf(Agent) } },
    handler: async (req) => listBody(await agents.versions(await callerOf(registry, req), req.params.id, pageRequest(req.query)), agentJson),
  });

  app.get('/:id/versions/:version', {
    schema: { tags, summary: 'Get one version of an agent', params: VersionParams, response: { 200: Agent } },
    handler: async (req) => agentJson(await agents.get(await callerOf(registry, req), req.params.id, revision(req.params.version))),
  });

  const update = async (req: { params: { id: string }; body: Static<typeof AgentUpdateBody>; ip: string }, ctxOf: () => ReturnType<typeof callerOf>) => {
    const { version, ...changes } = req.body;
    return agentJson(await agents.update(await ctxOf(), req.params.id, changes, version));
  };

  app.patch('/:id', {
    schema: { tags, summary: 'Update an agent (002); a change bumps its version', params: IdParams, body: AgentUpdateBody, response: { 200: Agent } },
    handler: async (req) => update(req, () => callerOf(registry, req)),
  });

  app.post('/:id', {
    schema: { tags, summary: 'Update an agent (SDK); a change bumps its version', params: IdParams, body: AgentUpdateBody, response: { 200: Agent } },
    handler: async (req) => update(req, () => callerOf(registry, req)),
  });

  app.delete('/:id', {
    schema: { tags, summary: 'Archive an agent (002)', params: IdParams, response: { 200: Agent } },
    handler: async (req) => agentJson(await agents.archive(await callerOf(registry, req), req.params.id)),
  });

  app.post('/:id/publish', {
    schema: {
      tags,
      summary: 'Publish the agent (or one of its versions) as a semver agent package in your scope (Agentry)',
      description:
        'Takes an `Idempotency-Key` header: a retry with the same key that publishes the same agent version as the same package answers the original success (24 hours); the same key for anything else is 422. Without a key, publishing a version that exists is 409.',
      params: IdParams,
      body: Type.Optional(
        Type.Object(
          {
            name: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: "Package name (default: the agent's name as a slug)" })),
            version: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Semver version (default: <agent version>.0.0)' })),
            agent_version: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_147_483_647, description: 'Which version of the agent (default: its current one)' })),
          },
          { additionalProperties: false },
        ),
      ),
      response: { 200: AgentPackage },
    },
    handler: async (req) => {
      const r = await agents.publish(await callerOf(registry, req), req.params.id, {
        name: req.body?.name,
        version: req.body?.version,
        agentVersion: req.body?.agent_version,
        // A retry with the same key and the same agent version answers the original publish.
        idempotencyKey: req.headers['idempotency-key'],
      });
      return { type: 'agent_package' as const, package: `@${r.scope}/${r.name}`, version: r.version, digest: r.digest, agent_id: r.agentId, agent_version: r.agentVersion };
    },
  });

  app.post('/:id/archive', {
    schema: { tags, summary: 'Archive an agent (SDK)', params: IdParams, response: { 200: Agent } },
    handler: async (req) => agentJson(await agents.archive(await callerOf(registry, req), req.params.id)),
  });
};
