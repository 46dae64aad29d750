import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { AgentryError } from '../../core/errors.js';

/**
 * The router takes path segments up to 600 characters (MCP server names are up to 200, URL-encoded; OCI repository names up to 255 with their slashes encoded).
 * A door whose names are shorter keeps its own limit with this `onRequest` hook: a longer segment
 * is a 414, answered in the door's error shape by the door's error handler. Synchronous (a
 * callback hook): Fastify turns a throw into the request's error.
 */
export const limitPathSegments =
  (max: number) =>
  (req: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    const params = req.params as Record<string, unknown> | undefined;
    for (const name in params) {
      const value = params[name];
      if (typeof value === 'string' && value.length > max) {
        throw new AgentryError('uri_too_long', 'A path segment of the URL is too long', [`path segments (scope, name, version) are at most ${max} characters`]);
      }
    }
    done();
  };
