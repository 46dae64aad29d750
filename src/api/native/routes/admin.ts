import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requestContext } from '../../shared/request-context.js';
import { strictOptionalBodyValidatorCompiler } from '../../shared/strict-validator.js';
import type { NativeDoorOptions } from '../index.js';
import { AuditQuery, AuditResponse, GcBody, GcResponse, errorResponses } from '../schemas.js';

export const adminRoutes: FastifyPluginAsyncTypebox<NativeDoorOptions> = async (app, { registry }) => {
  app.post('/admin/gc', {
    schema: { tags: ['admin'], summary: 'Remove blobs nothing refers to (admin)', body: GcBody, response: { 200: GcResponse, ...errorResponses } },
    // Unknown fields are refused, not dropped (a misspelt `dry_run` would remove blobs); no body is an empty one.
    validatorCompiler: strictOptionalBodyValidatorCompiler,
    handler: async (req) => {
      const ctx = await requestContext(registry, req);
      const r = await registry.gc.collect(ctx, { dryRun: req.body?.dry_run ?? false, graceSeconds: req.body?.grace_seconds ?? 3600 });
      return { removed: r.removed, freed_bytes: r.freedBytes, kept: r.kept, dry_run: r.dryRun };
    },
  });

  app.get('/audit', {
    schema: { tags: ['admin'], summary: 'The audit log, newest first (admin)', querystring: AuditQuery, response: { 200: AuditResponse, ...errorResponses } },
    handler: async (req) => {
      const ctx = await requestContext(registry, req);
      const page = req.query.page ?? 1;
      const limit = req.query.limit ?? 50;
      const r = await registry.audit(ctx, { actor: req.query.actor, action: req.query.action, target: req.query.target, offset: (page - 1) * limit, limit });
      return {
        entries: r.rows.map((e) => ({ id: e.id, at: e.at, actor: e.actor, action: e.action, target: e.target, ip: e.ip, details: e.details })),
        total: r.total,
        page,
        limit,
      };
    },
  });
};
