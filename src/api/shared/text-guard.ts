import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { AgentryError } from '../../core/errors.js';

/** C0 control characters (NUL included) and DEL: never part of a name, an id, a tag or a search. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

const refuse = (where: 'params' | 'querystring', name: string): AgentryError =>
  new AgentryError('bad_request', `The ${where === 'params' ? 'path' : 'query'} parameter '${name}' holds a control character`, [
    `${where}.${name}: must not contain NUL or other control characters (U+0000-U+001F, U+007F)`,
  ]);

/**
 * `onRequest` hook on the root instance: a decoded path segment or query value with a control
 * character is refused before any door, rule or store sees it (NUL cannot reach SQL, CR/LF cannot
 * reach a header). The error goes to the route's door, so it answers in that door's shape.
 * Synchronous (a callback hook): Fastify turns a throw into the request's error, as for an async hook.
 */
export const refuseControlCharacters = (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void => {
  // for…in rather than Object.entries: every request runs this, and most have two parameters and no query.
  const params = request.params as Record<string, unknown> | undefined;
  for (const name in params) {
    const value = params[name];
    if (typeof value === 'string' && CONTROL.test(value)) throw refuse('params', name);
  }
  const query = request.query as Record<string, unknown> | undefined;
  for (const name in query) {
    const value = query[name];
    const values = Array.isArray(value) ? value : [value];
    if (CONTROL.test(name) || values.some((v) => typeof v === 'string' && CONTROL.test(v))) throw refuse('querystring', name.replace(new RegExp(CONTROL, 'g'), '?'));
  }
  done();
};
