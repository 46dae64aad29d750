import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requestContext } from '../../shared/request-context.js';
import type { AlquimiaDoorOptions } from '../index.js';
import { AddSecretBody, AgentspaceQuery, alquimiaErrors, AssistantParams, InspectQuery, InspectResponse, Secret, SecretFilterBody, SecretQuery } from '../schemas.js';
import { genericError, secretView } from '../views.js';

const tags = ['alquimia secrets'];

export const secretRoutes: FastifyPluginAsyncTypebox<AlquimiaDoorOptions> = async (app, { registry }) => {
  const svc = registry.agentspaceSecrets;

  app.post('/secret', {
    schema: {
      tags,
      summary: 'Add a secret to an agentspace (the value goes to the secret backend; never returned)',
      description:
        "Scopes: 'local' = one agent (assistant_id required), 'shared' = every agent of the agentspace, 'global' = every agentspace of the owner. 400 while the agentspace has unvalidated agents.",
      querystring: SecretQuery,
      body: AddSecretBody,
      response: { 200: Secret, ...alquimiaErrors },
    },
    handler: async (req) => {
      const ctx = await requestContext(registry, req);
      return secretView(await svc.addSecret(ctx, req.query.agentspace_id, req.body.secret, req.body.value, req.query.assistant_id));
    },
  });

  app.get('/secret', {
    schema: { tags, summary: 'List the secrets of an agentspace (metadata only)', querystring: AgentspaceQuery, response: { 200: Type.Array(Secret), ...alquimiaErrors } },
    handler: async (req) => (await svc.listSecrets(await requestContext(registry, req), req.query.agentspace_id)).map(secretView),
  });

  app.post('/secret/query', {
    schema: {
      tags,
      summary: 'Query secrets by filter (an empty body returns all)',
      querystring: AgentspaceQuery,
      body: Type.Optional(SecretFilterBody),
      response: { 200: Type.Array(Secret), ...alquimiaErrors },
    },
    handler: async (req) => (await svc.querySecrets(await requestContext(registry, req), req.query.agentspace_id, req.body ?? {})).map(secretView),
  });

  app.post('/secret/inspect/:assistant_id', {
    schema: {
      tags,
      summary: 'Inspect the secrets an agent uses and check they resolve',
      params: AssistantParams,
      querystring: InspectQuery,
      response: { 200: InspectResponse, ...alquimiaErrors },
    },
    handler: async (req) => {
      const r = await svc.inspectSecrets(await requestContext(registry, req), req.query.agentspace_id, req.params.assistant_id, req.query.check_resolution);
      return { secrets: r.secrets, errors: r.errors.map(genericError) };
    },
  });

  app.delete('/secret', {
    schema: {
      tags,
      summary: 'Delete the secrets matching a non-empty filter (definitions and values)',
      querystring: AgentspaceQuery,
      body: Type.Optional(SecretFilterBody),
      response: { 200: Type.Object({ deleted: Type.Array(Secret) }), ...alquimiaErrors },
    },
    handler: async (req) => ({ deleted: (await svc.deleteSecrets(await requestContext(registry, req), req.query.agentspace_id, req.body ?? {})).map(secretView) }),
  });
};
