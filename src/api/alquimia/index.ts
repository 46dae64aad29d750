import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Registry } from '../../core/registry.js';
import type { FastifyRequest } from 'fastify';
import { AgentryError, validationFailed } from '../../core/errors.js';
import { toAgentryError } from '../shared/framework-errors.js';
import { alquimiaErrorHandler } from './errors.js';
import { agentRoutes } from './routes/agents.js';
import { agentspaceRoutes } from './routes/agentspaces.js';
import { ociRoutes } from './routes/oci.js';
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
  app.setErrorHandler((err, req, reply) => {
    // The validator's problems and the unknown fields it would have dropped, in one answer.
    const extra = unknown.get(req);
    const e = toAgentryError(err);
    if (extra && e.code === 'validation_failed') return alquimiaErrorHandler(validationFailed([...e.details, ...extra]), req, reply);
    return alquimiaErrorHandler(err, req, reply);
  });
  // Alquimia's clients send `Content-Type: application/json` with no body on bodiless POSTs
  // (validate, inspect, query-all): read that as "no body" instead of refusing it.
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (typeof body === 'string' && body.trim() === '') return done(null, undefined);
    // A malformed body's parse error quotes the body; it may hold a secret value: say where only.
    void json(req, typeof body === 'string' ? body : body.toString('utf8'), (err, value) => {
      if (!err) return done(null, value);
      const at = /position (\d+)/.exec(err.message)?.[1];
      done(new AgentryError('bad_request', 'Malformed JSON in request body', at ? [`invalid JSON at position ${at}`] : []), undefined);
    });
  });
  // Alquimia's models forbid extra fields: say so instead of letting the validator drop them,
  // and read a bodiless query or delete as an empty filter.
  const unknown = new WeakMap<FastifyRequest, string[]>();
  app.addHook('preValidation', async (req) => {
    const schema = req.routeOptions.schema as { body?: JsonSchemaNode; querystring?: JsonSchemaNode } | undefined;
    if (req.body === undefined && schema?.body && (req.method === 'POST' || req.method === 'DELETE' || req.method === 'PUT')) req.body = {};
    if ((req.routeOptions.config as { coreValidates?: boolean } | undefined)?.coreValidates) return;
    const problems = [...unknownFields(schema?.querystring, req.query, 'querystring'), ...unknownFields(schema?.body, req.body, 'body')];
    if (problems.length > 0) unknown.set(req, problems);
  });
  app.addHook('preHandler', async (req) => {
    const problems = unknown.get(req);
    if (problems) throw validationFailed(problems);
  });
  const routeOpts: AlquimiaDoorOptions = { registry: opts.registry };
  await app.register(agentspaceRoutes, routeOpts);
  await app.register(agentRoutes, routeOpts);
  await app.register(secretRoutes, routeOpts);
  await app.register(parameterRoutes, routeOpts);
  await app.register(ociRoutes, routeOpts);
};

interface JsonSchemaNode {
  type?: unknown;
  properties?: Record<string, JsonSchemaNode>;
  additionalProperties?: unknown;
}

/** Fields a strict object schema does not name, at any depth, as `where.path: unknown field 'x'`. */
const unknownFields = (schema: JsonSchemaNode | undefined, value: unknown, where: string): string[] => {
  if (!schema || typeof value !== 'object' || value === null || Array.isArray(value) || !schema.properties) return [];
  const props = schema.properties;
  const out: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    const sub = props[k];
    if (sub) out.push(...unknownFields(sub, v, `${where}.${k}`));
    else if (schema.additionalProperties === false) out.push(`${where}: unknown field '${k}'`);
  }
  return out;
};
