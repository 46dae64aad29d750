import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Registry } from '../../core/registry.js';

const Health = Type.Object({
  ok: Type.Boolean(),
  status: Type.String(),
  version: Type.String(),
  store: Type.String(),
  auth_required: Type.Boolean(),
  auth_required_for_reads: Type.Boolean({ description: 'Every read needs a token too (--auth-required-for-reads)' }),
  read_only: Type.Boolean(),
});

const Liveness = Type.Object({ ok: Type.Literal(true), status: Type.Literal('alive') });

const Readiness = Type.Object({
  ok: Type.Boolean(),
  status: Type.Union([Type.Literal('ready'), Type.Literal('not ready')]),
  checks: Type.Array(
    Type.Object({
      name: Type.Union([Type.Literal('database'), Type.Literal('migrations'), Type.Literal('blobs')]),
      ok: Type.Boolean(),
      reason: Type.Optional(Type.String({ description: 'Why not, when not ok' })),
    }),
  ),
});

/**
 * `/livez`: the process is up and its event loop turns (no I/O: a restart is the only cure for a no).
 * `/readyz`: it can serve: database reachable, migrations applied, blob store writable; 503 with
 * each failed check's reason otherwise (take it out of the load balancer, do not restart it).
 * `/healthz`: both `ok` and `status` so the seeds' clients (which read one or the other) agree;
 * `auth_required` in PraisonAI's sense: writes need a token; `auth_required_for_reads`: reads do too.
 */
export const healthRoutes: FastifyPluginAsyncTypebox<{ registry: Registry; version: string }> = async (app, { registry, version }) => {
  app.get('/livez', {
    schema: { tags: ['system'], summary: 'Liveness: the process is up', response: { 200: Liveness } },
    handler: async () => ({ ok: true as const, status: 'alive' as const }),
  });

  app.get('/readyz', {
    schema: { tags: ['system'], summary: 'Readiness: database reachable, migrations applied, blob store writable', response: { 200: Readiness, 503: Readiness } },
    handler: async (_req, reply) => {
      const { ready, checks } = await registry.readiness();
      return reply.status(ready ? 200 : 503).send({ ok: ready, status: ready ? 'ready' : 'not ready', checks });
    },
  });

  app.get('/healthz', {
    schema: { tags: ['system'], summary: 'Health check', response: { 200: Health, 503: Health } },
    handler: async (_req, reply) => {
      let healthy = true;
      try {
        await registry.storage.ping();
      } catch {
        healthy = false;
      }
      const body = {
        ok: healthy,
        status: healthy ? 'healthy' : 'unhealthy',
        version,
        store: registry.storage.kind,
        auth_required: true,
        auth_required_for_reads: registry.policy.authRequiredForReads,
        read_only: registry.policy.readOnly,
      };
      return reply.status(healthy ? 200 : 503).send(body);
    },
  });
};
