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

/**
 * `/healthz`: both `ok` and `status` so the seeds' clients (which read one or the other) agree;
 * `auth_required` in PraisonAI's sense: writes need a token; `auth_required_for_reads`: reads do too.
 */
export const healthRoutes: FastifyPluginAsyncTypebox<{ registry: Registry; version: string }> = async (app, { registry, version }) => {
  app.get('/healthz', {
    schema: { tags: ['system'], summary: 'Health check', response: { 200: Health, 503: Health } },
    handler: async (_req, reply) => {
      let healthy = true;
      try {
        await registry.storage.ping();
      } catch {
        healthy = false;
      }
      const body = { ok: healthy, status: healthy ? 'healthy' : 'unhealthy', version, store: registry.storage.kind, auth_required: true, auth_required_for_reads: registry.policy.authRequiredForReads, read_only: registry.policy.readOnly };
      return reply.status(healthy ? 200 : 503).send(body);
    },
  });
};
