import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { notImplemented } from '../../../core/errors.js';
import type { MirrorRecord } from '../../../core/mirrors/mirror.js';
import type { MirrorService } from '../../../core/mirrors/mirror-service.js';
import type { Registry } from '../../../core/registry.js';
import { requestContext } from '../../shared/request-context.js';
import type { NativeDoorOptions } from '../index.js';
import { SuccessMessage, errorResponses } from '../schemas.js';

const MirrorKind = Type.Union([Type.Literal('mcp'), Type.Literal('oci'), Type.Literal('agentry')], { description: 'What the upstream is: an MCP registry (/v0.1), an OCI registry, another Agentry' });

const MirrorBody = Type.Object(
  {
    kind: MirrorKind,
    name: Type.String({ minLength: 1, maxLength: 63, description: 'Lower-case letters, digits and -; an OCI mirror serves /v2/<name>/<upstream repository>' }),
    url: Type.String({ minLength: 1, maxLength: 2048, description: 'The upstream base URL (http:// or https://), without a login' }),
    username: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    password: Type.Optional(Type.String({ minLength: 1, maxLength: 8192, description: 'Kept in the secret store; never returned' })),
    ttl_seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 31_536_000, description: 'How long tags and listings are served before the upstream is asked again (default 300)' })),
  },
  { additionalProperties: false },
);

const MirrorView = Type.Object({
  name: Type.String(),
  kind: MirrorKind,
  url: Type.String(),
  username: Type.Union([Type.String(), Type.Null()]),
  has_password: Type.Boolean({ description: 'A password is kept in the secret store (it is never returned)' }),
  ttl_seconds: Type.Integer(),
  created_at: Type.String(),
});

const NameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 63 }) });

const viewOf = (m: MirrorRecord) => ({ name: m.name, kind: m.kind, url: m.url, username: m.username, has_password: m.hasPassword, ttl_seconds: m.ttlSeconds, created_at: m.createdAt });

const mirrorsOf = (registry: Registry): MirrorService => {
  if (!registry.mirrors) throw notImplemented('Mirrors are not offered by this server');
  return registry.mirrors;
};

/** Upstreams (pull-through mirrors), administrators only. */
export const mirrorRoutes: FastifyPluginAsyncTypebox<NativeDoorOptions> = async (app, { registry }) => {
  app.post('/mirrors', {
    schema: { tags: ['admin'], summary: 'Add an upstream (pull-through mirror) (admin)', body: MirrorBody, response: { 201: MirrorView, ...errorResponses } },
    handler: async (req, reply) => {
      const b = req.body;
      const m = await mirrorsOf(registry).add(await requestContext(registry, req), {
        kind: b.kind,
        name: b.name,
        url: b.url,
        ...(b.username !== undefined ? { username: b.username } : {}),
        ...(b.password !== undefined ? { password: b.password } : {}),
        ...(b.ttl_seconds !== undefined ? { ttlSeconds: b.ttl_seconds } : {}),
      });
      return reply.status(201).send(viewOf(m));
    },
  });

  app.get('/mirrors', {
    schema: { tags: ['admin'], summary: 'List upstreams (admin)', response: { 200: Type.Object({ mirrors: Type.Array(MirrorView) }), ...errorResponses } },
    handler: async (req) => ({ mirrors: (await mirrorsOf(registry).list(await requestContext(registry, req))).map(viewOf) }),
  });

  app.get('/mirrors/:name', {
    schema: { tags: ['admin'], summary: 'One upstream (admin)', params: NameParams, response: { 200: MirrorView, ...errorResponses } },
    handler: async (req) => viewOf(await mirrorsOf(registry).get(await requestContext(registry, req), req.params.name)),
  });

  app.delete('/mirrors/:name', {
    schema: {
      tags: ['admin'],
      summary: 'Remove an upstream and its password (admin); what an OCI upstream fetched is no longer served, packages an Agentry upstream fetched stay (read-only)',
      params: NameParams,
      response: { 200: SuccessMessage, ...errorResponses },
    },
    handler: async (req) => {
      await mirrorsOf(registry).remove(await requestContext(registry, req), req.params.name);
      return { success: true, message: `Mirror ${req.params.name} removed` };
    },
  });
};
