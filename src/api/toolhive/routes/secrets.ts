import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Registry } from '../../../core/registry.js';
import { requestContext } from '../../shared/request-context.js';
import { textErrors } from '../schemas.js';
import { CreateSecretBody, SecretKeys, SecretParams, SecretResponse, SecretsProvider, SetupSecretsBody, SetupSecretsResponse, UpdateSecretBody } from '../runtime-schemas.js';

/** ToolHive's `/api/v1beta/secrets`: the caller's own secrets in the server's secret store; values are never returned. */
export const secretRoutes: FastifyPluginAsyncTypebox<{ registry: Registry }> = async (app, { registry }) => {
  const tags = ['toolhive'];
  const secrets = registry.toolhiveSecrets;
  const errors = { ...textErrors, 405: textErrors[400], 409: textErrors[400] };

  app.post('/secrets', {
    schema: {
      tags,
      summary: "Set up the secrets provider: confirms this server's provider (it is chosen by the server's configuration)",
      body: SetupSecretsBody,
      response: { 201: SetupSecretsResponse, ...errors },
    },
    handler: async (req, reply) => reply.status(201).send(secrets.setup(await requestContext(registry, req), req.body.provider_type)),
  });

  app.get('/secrets/default', {
    schema: { tags, summary: 'Get the secrets provider and what it can do', response: { 200: SecretsProvider } },
    handler: async (req) => secrets.provider(await requestContext(registry, req)),
  });

  app.get('/secrets/default/keys', {
    schema: { tags, summary: 'List your secret keys (never the values)', response: { 200: SecretKeys } },
    handler: async (req) => ({ keys: await secrets.list(await requestContext(registry, req)) }),
  });

  app.post('/secrets/default/keys', {
    schema: { tags, summary: 'Create a secret', body: CreateSecretBody, response: { 201: SecretResponse, ...errors } },
    handler: async (req, reply) => {
      await secrets.create(await requestContext(registry, req), req.body.key, req.body.value);
      return reply.status(201).send({ key: req.body.key, message: 'Secret created successfully' });
    },
  });

  app.put('/secrets/default/keys/:key', {
    schema: { tags, summary: 'Update a secret', params: SecretParams, body: UpdateSecretBody, response: { 200: SecretResponse, ...errors } },
    handler: async (req) => {
      await secrets.update(await requestContext(registry, req), req.params.key, req.body.value);
      return { key: req.params.key, message: 'Secret updated successfully' };
    },
  });

  app.delete('/secrets/default/keys/:key', {
    schema: { tags, summary: 'Delete a secret', params: SecretParams, response: { 204: Type.Null(), ...errors } },
    handler: async (req, reply) => {
      await secrets.delete(await requestContext(registry, req), req.params.key);
      return reply.status(204).send(null);
    },
  });
};
