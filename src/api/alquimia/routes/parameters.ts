import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { parameterDefSchema } from '../../../core/agentspaces/parameters.js';
import { requestContext } from '../../shared/request-context.js';
import type { AlquimiaDoorOptions } from '../index.js';
import { AgentspaceQuery, agentspaceQueryOnlyValidator, alquimiaErrors, AnyObject, ValidateQuery, ValidateResponse } from '../schemas.js';
import { genericError, secretView } from '../views.js';

const ParameterFilter = Type.Object(
  {
    key: Type.Optional(Type.String()),
    assistant_id: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    type: Type.Optional(Type.Enum(['string', 'number', 'boolean', 'enum', 'json'])),
    required: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const parameterRoutes: FastifyPluginAsyncTypebox<AlquimiaDoorOptions> = async (app, { registry }) => {
  const svc = registry.agentspaceParameters;
  const tags = ['alquimia parameters'];

  app.post('/parameter', {
    schema: {
      tags,
      summary: 'Add (or replace) a parameter definition',
      description: "A ParameterDef (Agentry's: Alquimia documents none). Agents use it as {{ params.<key> }} in system_prompt; resolve renders value, else default.",
      querystring: AgentspaceQuery,
      body: parameterDefSchema(),
      response: { 200: AnyObject, ...alquimiaErrors },
    },
    config: { coreValidates: true },
    validatorCompiler: agentspaceQueryOnlyValidator,
    handler: async (req) => svc.addParameter(await requestContext(registry, req), (req.query as { agentspace_id: string }).agentspace_id, req.body),
  });

  app.post('/parameter/query', {
    schema: {
      tags,
      summary: 'Query parameters by filter (an empty body returns all)',
      querystring: AgentspaceQuery,
      body: Type.Optional(ParameterFilter),
      response: { 200: Type.Array(AnyObject), ...alquimiaErrors },
    },
    handler: async (req) => svc.queryParameters(await requestContext(registry, req), req.query.agentspace_id, req.body ?? {}),
  });

  app.delete('/parameter', {
    schema: {
      tags,
      summary: 'Delete the parameters matching a non-empty filter',
      querystring: AgentspaceQuery,
      body: Type.Optional(ParameterFilter),
      response: { 200: Type.Object({ deleted: Type.Array(AnyObject) }), ...alquimiaErrors },
    },
    handler: async (req) => ({ deleted: await svc.deleteParameters(await requestContext(registry, req), req.query.agentspace_id, req.body ?? {}) }),
  });

  app.post('/validate', {
    schema: {
      tags: ['alquimia validate'],
      summary: 'Validate and auto-migrate every agent, then delete unused secrets',
      description:
        'Migrations, in order: 0001-secret-ref-shorthand ("$NAME" → {"$secretRef": "NAME"}), 0002-iteration-limits (max_iterations → max_steps, max_iteration_volume → max_concurrent_tools). dry_run=true changes nothing.',
      querystring: ValidateQuery,
      response: { 200: ValidateResponse, ...alquimiaErrors },
    },
    handler: async (req) => {
      const r = await registry.agentspaces.validate(await requestContext(registry, req), req.query.agentspace_id, req.query.dry_run);
      return { validated: r.validated, errors: r.errors.map(genericError), deleted_secrets: r.deletedSecrets.map(secretView), migrated: r.migrated };
    },
  });
};
