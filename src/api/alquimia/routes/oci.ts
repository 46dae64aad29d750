import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { presentedToken, requestContext } from '../../shared/request-context.js';
import type { AlquimiaDoorOptions } from '../index.js';
import { alquimiaErrors, RepositoryMetadata } from '../schemas.js';
import { repositoryMetadata } from '../views.js';

const tags = ['alquimia oci'];
const Target = {
  agentspace_id: Type.String({ default: 'default', minLength: 1, maxLength: 64 }),
  registry: Type.Optional(Type.String({ minLength: 1, maxLength: 300, description: "Agentry: the OCI registry (default AGENTRY_OCI_REGISTRY_DEFAULT, else this server's /v2/)" })),
  repository: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'Agentry: the repository (default <owner>/<agentspace name in OCI form>)' })),
};

export const ociRoutes: FastifyPluginAsyncTypebox<AlquimiaDoorOptions> = async (app, { registry }) => {
  const svc = registry.agentspaceArtifacts;

  app.put('/publish', {
    schema: {
      tags,
      summary: 'Publish an agentspace to an OCI registry as an application/vnd.alquimia.registry.v1 artifact',
      description:
        'One JSON layer each for agents, secret definitions (never values) and parameters. A release tag (semver) at least as high as every other also moves `latest`. 400 for unvalidated agents or unused secrets; 502 when the OCI registry does not answer.',
      querystring: Type.Object({ ...Target, tag: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'OCI tag (e.g. v1.0.0); required' })) }, { additionalProperties: false }),
      body: Type.Object({ description: Type.Optional(Type.String({ maxLength: 3000 })) }, { additionalProperties: false }),
      response: {
        200: Type.Object({ reference: Type.String(), digest: Type.String(), media_type: Type.String(), size: Type.Integer(), tags: Type.Array(Type.String()) }),
        ...alquimiaErrors,
      },
    },
    handler: async (req) => {
      const q = req.query;
      const r = await svc.publish(await requestContext(registry, req), q.agentspace_id, q.tag, req.body?.description, {
        registry: q.registry,
        repository: q.repository,
        callerToken: presentedToken(req),
      });
      return { reference: r.reference, digest: r.digest, media_type: r.mediaType, size: r.size, tags: r.tags };
    },
  });

  app.delete('/publish', {
    schema: {
      tags,
      summary: 'Remove a published manifest from the OCI registry (with every tag on it)',
      querystring: Type.Object({ ...Target, tag: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })) }, { additionalProperties: false }),
      response: { 200: Type.Object({ reference: Type.String(), digest: Type.String(), deleted: Type.Boolean() }), ...alquimiaErrors },
    },
    handler: async (req) => {
      const q = req.query;
      const r = await svc.unpublish(await requestContext(registry, req), q.agentspace_id, q.tag, { registry: q.registry, repository: q.repository, callerToken: presentedToken(req) });
      return { ...r, deleted: true };
    },
  });

  app.post('/pull', {
    schema: {
      tags,
      summary: 'Pull an agentspace artifact: merge its agents into an existing agentspace, or clone it into a new one',
      querystring: Type.Object(
        {
          agentspace_id: Type.String({ default: 'default', minLength: 1, maxLength: 64 }),
          target: Type.Optional(Type.String({ minLength: 1, maxLength: 600, description: 'registry/repository:tag (a reference without a registry uses the default one)' })),
        },
        { additionalProperties: false },
      ),
      response: {
        200: Type.Object({
          agentspace: RepositoryMetadata,
          created: Type.Boolean({ description: 'A new agentspace was cloned from the artifact' }),
          reference: Type.String(),
          digest: Type.String(),
          agents: Type.Array(Type.String()),
          secrets: Type.Array(Type.String(), { description: 'Secret definitions pulled (values never travel: set them here)' }),
          parameters: Type.Array(Type.String()),
        }),
        ...alquimiaErrors,
      },
    },
    handler: async (req) => {
      const r = await svc.pull(await requestContext(registry, req), req.query.agentspace_id, req.query.target, { callerToken: presentedToken(req) });
      return { ...r, agentspace: repositoryMetadata(r.agentspace) };
    },
  });

  app.get('/repositories', {
    schema: {
      tags,
      summary: 'List the repositories of an OCI registry (502 when it does not answer)',
      querystring: Type.Object({ registry: Type.Optional(Type.String({ minLength: 1, maxLength: 300 })) }, { additionalProperties: false }),
      response: { 200: Type.Object({ registry: Type.String(), repositories: Type.Array(Type.String()) }), ...alquimiaErrors },
    },
    handler: async (req) => svc.repositories(await requestContext(registry, req), req.query.registry, presentedToken(req)),
  });

  app.get('/tags', {
    schema: {
      tags,
      summary: 'List the tags of an OCI repository (502 when the registry does not answer)',
      querystring: Type.Object(
        { repo_id: Type.Optional(Type.String({ minLength: 1, maxLength: 600, description: 'registry/repository, or a repository of the default registry; required' })) },
        { additionalProperties: false },
      ),
      response: { 200: Type.Object({ repository: Type.String(), tags: Type.Array(Type.String()) }), ...alquimiaErrors },
    },
    handler: async (req) => svc.tags(await requestContext(registry, req), req.query.repo_id, presentedToken(req)),
  });
};
