import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { assistantConfigShape } from '../../../core/agentspaces/assistant-config.js';
import { requestContext } from '../../shared/request-context.js';
import type { AlquimiaDoorOptions } from '../index.js';
import { AgentFilterBody, AgentspaceQuery, agentspaceQueryOnlyValidator, alquimiaErrors, AnyObject, AssistantParams, RepositoryMetadata, ResolveQuery } from '../schemas.js';
import { repositoryMetadata } from '../views.js';

const tags = ['alquimia agents'];

export const agentRoutes: FastifyPluginAsyncTypebox<AlquimiaDoorOptions> = async (app, { registry }) => {
  const svc = registry.agentspaceAgents;

  // The body is documented with the full AssistantConfig schema; the core checks it, so a
  // client gets every error with its path in one answer, in Pydantic's spirit.
  app.post('/agent', {
    schema: {
      tags,
      summary: 'Create or update an agent configuration (a full AssistantConfig)',
      description: 'Unknown fields are errors. A config that is valid only once migrated ("$NAME" shorthand, max_iterations) is stored as sent and marked unvalidated until POST /registry/validate.',
      querystring: AgentspaceQuery,
      body: assistantConfigShape.schema(),
      response: { 200: AnyObject, ...alquimiaErrors },
    },
    config: { coreValidates: true },
    validatorCompiler: agentspaceQueryOnlyValidator,
    handler: async (req) => {
      const q = req.query as { agentspace_id: string };
      const agent = await svc.upsertAgent(await requestContext(registry, req), q.agentspace_id, req.body);
      return agent.spec;
    },
  });

  app.post('/agent/query', {
    schema: {
      tags,
      summary: 'Query agents by filter (an empty body returns all)',
      querystring: AgentspaceQuery,
      body: Type.Optional(AgentFilterBody),
      response: { 200: Type.Array(AnyObject), ...alquimiaErrors },
    },
    handler: async (req) => (await svc.queryAgents(await requestContext(registry, req), req.query.agentspace_id, req.body ?? {})).map((a) => a.spec),
  });

  app.delete('/agent', {
    schema: {
      tags,
      summary: 'Delete the agents matching a non-empty filter',
      querystring: AgentspaceQuery,
      body: Type.Optional(AgentFilterBody),
      response: { 200: Type.Object({ deleted: Type.Array(Type.String(), { description: 'assistant_ids deleted' }) }), ...alquimiaErrors },
    },
    handler: async (req) => ({ deleted: await svc.deleteAgents(await requestContext(registry, req), req.query.agentspace_id, req.body ?? {}) }),
  });

  app.put('/agent/hold/:assistant_id', {
    schema: { tags, summary: 'Place an agent on hold (the runtime stops serving it)', params: AssistantParams, querystring: AgentspaceQuery, response: { 200: RepositoryMetadata, ...alquimiaErrors } },
    handler: async (req) => repositoryMetadata(await svc.hold(await requestContext(registry, req), req.query.agentspace_id, req.params.assistant_id)),
  });

  app.put('/agent/unhold/:assistant_id', {
    schema: { tags, summary: 'Remove an agent from hold', params: AssistantParams, querystring: AgentspaceQuery, response: { 200: RepositoryMetadata, ...alquimiaErrors } },
    handler: async (req) => repositoryMetadata(await svc.unhold(await requestContext(registry, req), req.query.agentspace_id, req.params.assistant_id)),
  });

  app.get('/agent/resolve/:assistant_id', {
    schema: {
      tags,
      summary: "Agentry: the agent's config with secrets resolved, for runtime tokens only",
      description:
        'Every {"$secretRef": NAME} is replaced by its value (local → shared → global) and {{ params.key }} is rendered in the system prompt. Refused (409) for a held agent, a disabled agentspace or an unvalidated agent. Audited.',
      params: AssistantParams,
      querystring: ResolveQuery,
      response: { 200: AnyObject, ...alquimiaErrors },
    },
    handler: async (req, reply) => {
      const resolved = await svc.resolve(await requestContext(registry, req), req.query.agentspace_id, req.params.assistant_id, req.query.owner);
      return reply.header('cache-control', 'no-store').send(resolved);
    },
  });
};
