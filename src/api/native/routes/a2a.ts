import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { baseUrl } from '../../shared/base-url.js';
import { requestContext } from '../../shared/request-context.js';
import { strictValidatorCompiler } from '../../shared/strict-validator.js';
import type { NativeDoorOptions } from '../index.js';
import { ErrorBody, PublishResponse, errorResponses } from '../schemas.js';
import { publishResult } from '../views.js';

const ImportBody = Type.Object(
  {
    url: Type.Optional(
      Type.String({ minLength: 1, maxLength: 2048, description: "Where the agent's A2A card is (e.g. https://agent.example/.well-known/agent-card.json); fetched through the egress policy" }),
    ),
    card: Type.Optional(Type.Unknown({ description: 'The A2A 0.3 agent card itself (instead of url); checked against the protocol schema' })),
    scope: Type.Optional(Type.String({ minLength: 1, maxLength: 101, description: "The scope to publish to (default: the caller's own)" })),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: "The package name (default: the card's name, lower-cased, other characters as '-')" })),
  },
  { additionalProperties: false },
);

/** Importing remote A2A agents (issue 20): a card becomes an agent package whose runs call the remote agent. */
export const a2aRoutes: FastifyPluginAsyncTypebox<NativeDoorOptions> = async (app, { registry, publicUrl }) => {
  app.post('/a2a/imports', {
    schema: {
      tags: ['agents'],
      summary: 'Import a remote A2A agent: publish its agent card (sent, or fetched by URL) as an agent package',
      body: ImportBody,
      response: { 201: PublishResponse, ...errorResponses, 502: ErrorBody },
    },
    validatorCompiler: strictValidatorCompiler,
    handler: async (req, reply) => {
      const ctx = await requestContext(registry, req);
      const { pkg, version } = await registry.a2aImports.import(ctx, req.body);
      return reply.status(201).send(publishResult(pkg, version, baseUrl(req, publicUrl)));
    },
  });
};
