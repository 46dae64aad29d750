import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requestContext } from '../../shared/request-context.js';
import { strictValidatorCompiler } from '../../shared/strict-validator.js';
import type { NativeDoorOptions } from '../index.js';
import { errorResponses } from '../schemas.js';

const RegisterScopeBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 101, description: "A reverse-DNS namespace, like 'io.github.alice' or 'com.example'" }),
    owner: Type.String({ minLength: 1, maxLength: 40, description: 'The user or organisation that will own it' }),
  },
  { additionalProperties: false },
);
const ScopeView = Type.Object({ name: Type.String(), owner: Type.String(), created_at: Type.String() });
const AccountParams = Type.Object({ account: Type.String({ minLength: 1, maxLength: 40 }) });

/** Scopes: an admin registers a reverse-DNS namespace to an account (the MCP registry's server-name prefixes). */
export const scopeRoutes: FastifyPluginAsyncTypebox<NativeDoorOptions> = async (app, { registry }) => {
  app.post('/scopes', {
    schema: { tags: ['accounts'], summary: 'Register a namespace scope to an account (admin)', body: RegisterScopeBody, response: { 201: ScopeView, ...errorResponses } },
    validatorCompiler: strictValidatorCompiler,
    handler: async (req, reply) => {
      const ctx = await requestContext(registry, req);
      const { scope, owner } = await registry.scopes.register(ctx, req.body.name, req.body.owner);
      return reply.status(201).send({ name: scope.name, owner: owner.name, created_at: scope.createdAt });
    },
  });

  app.get('/users/:account/scopes', {
    schema: {
      tags: ['accounts'],
      summary: 'The scopes an account owns',
      params: AccountParams,
      response: { 200: Type.Object({ scopes: Type.Array(ScopeView) }), ...errorResponses },
    },
    handler: async (req) => {
      const { owner, scopes } = await registry.scopes.ownedBy(req.params.account);
      return { scopes: scopes.map((s) => ({ name: s.name, owner: owner.name, created_at: s.createdAt })) };
    },
  });
};
