import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Registry } from '../../core/registry.js';
import { alquimiaErrorHandler } from './errors.js';
import { agentRoutes } from './routes/agents.js';
import { agentspaceRoutes } from './routes/agentspaces.js';
import { parameterRoutes } from './routes/parameters.js';
import { secretRoutes } from './routes/secrets.js';

export interface AlquimiaDoorOptions {
  registry: Registry;
}

/**
 * Alquimia's Registry API (000) under `/registry`: agentspaces, agents, secrets, parameters,
 * validate. Every route needs a token. None of its paths has `v0.1` as its third segment, so
 * ToolHive's `/registry/{registryName}/v0.1/…` routes live beside it.
 */
export const alquimiaDoor: FastifyPluginAsyncTypebox<AlquimiaDoorOptions> = async (app, opts) => {
  app.setErrorHandler(alquimiaErrorHandler);
  // Alquimia's clients send `Content-Type: application/json` with no body on bodiless POSTs
  // (validate, inspect, query-all): read that as "no body" instead of refusing it.
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (typeof body === 'string' && body.trim() === '') return done(null, undefined);
    json(req, typeof body === 'string' ? body : body.toString('utf8'), done);
  });
  const routeOpts: AlquimiaDoorOptions = { registry: opts.registry };
  await app.register(agentspaceRoutes, routeOpts);
  await app.register(agentRoutes, routeOpts);
  await app.register(secretRoutes, routeOpts);
  await app.register(parameterRoutes, routeOpts);
};
