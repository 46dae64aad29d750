import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requestContext } from '../../shared/request-context.js';
import type { AlquimiaDoorOptions } from '../index.js';
import { AgentspaceFilterBody, AgentspaceQuery, alquimiaErrors, CreateAgentspaceBody, RepositoryMetadata, UpdateAgentspaceBody } from '../schemas.js';
import { repositoryMetadata } from '../views.js';

const tags = ['alquimia agentspaces'];

export const agentspaceRoutes: FastifyPluginAsyncTypebox<AlquimiaDoorOptions> = async (app, { registry }) => {
  const svc = registry.agentspaces;

  app.get('/', {
    schema: { tags, summary: 'Retrieve a single agentspace by ID', querystring: AgentspaceQuery, response: { 200: RepositoryMetadata, ...alquimiaErrors } },
    handler: async (req) => repositoryMetadata(await svc.get(await requestContext(registry, req), req.query.agentspace_id)),
  });

  app.post('/', {
    schema: { tags, summary: 'Create a new agentspace', body: CreateAgentspaceBody, response: { 201: RepositoryMetadata, ...alquimiaErrors } },
    handler: async (req, reply) => {
      const b = req.body;
      const created = await svc.create(await requestContext(registry, req), {
        agentspaceId: b.agentspace_id,
        name: b.name,
        namespace: b.namespace,
        tag: b.tag,
        description: b.description,
        visibility: b.visibility,
        status: b.status,
        userId: b.user_id,
        sourceRepoId: b.source_repo_id,
      });
      return reply.status(201).send(repositoryMetadata(created));
    },
  });

  app.put('/', {
    schema: { tags, summary: 'Update an agentspace (only the fields sent change)', body: UpdateAgentspaceBody, response: { 200: RepositoryMetadata, ...alquimiaErrors } },
    handler: async (req) => {
      const b = req.body;
      const updated = await svc.update(await requestContext(registry, req), b.agentspace_id, {
        name: b.name,
        namespace: b.namespace,
        tag: b.tag,
        description: b.description,
        visibility: b.visibility,
        status: b.status,
        userId: b.user_id,
        sourceRepoId: b.source_repo_id,
      });
      return repositoryMetadata(updated);
    },
  });

  app.delete('/', {
    schema: {
      tags,
      summary: 'Delete an agentspace and all its data (agents, secrets, parameters)',
      querystring: AgentspaceQuery,
      response: { 200: Type.Object({ agentspace_id: Type.String(), deleted: Type.Boolean() }), ...alquimiaErrors },
    },
    handler: async (req) => {
      await svc.destroy(await requestContext(registry, req), req.query.agentspace_id);
      return { agentspace_id: req.query.agentspace_id, deleted: true };
    },
  });

  app.post('/query', {
    schema: {
      tags,
      summary: 'Query agentspaces by filter (an empty body returns all)',
      body: Type.Optional(AgentspaceFilterBody),
      response: { 200: Type.Array(RepositoryMetadata), ...alquimiaErrors },
    },
    handler: async (req) => {
      const f = req.body ?? {};
      const found = await svc.query(await requestContext(registry, req), {
        name: f.name,
        namespace: f.namespace,
        tag: f.tag,
        userId: f.user_id,
        sourceRepoId: f.source_repo_id,
        visibility: f.visibility,
        status: f.status,
      });
      return found.map(repositoryMetadata);
    },
  });
};
