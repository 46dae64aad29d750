import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { AgentryError } from '../../core/errors.js';

/** Depth to which a body is searched (JSON bodies are at most MAX_JSON_DEPTH deep anyway). */
const MAX_WALK = 80;

/**
 * Objects and arrays as parsers make them, not buffers or streams. Decided by the prototype, never
 * by a property: the query parser's objects have a null-prototype prototype, and `?constructor=x`
 * is an own property a lookup of `.constructor` would read.
 */
const isPlain = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== 'object' || v === null || ArrayBuffer.isView(v)) return false;
  if (Array.isArray(v)) return true;
  const proto = Object.getPrototypeOf(v) as object | null;
  return proto === null || proto === Object.prototype || Object.getPrototypeOf(proto) === null;
};

const firstNonFinite = (value: unknown, path: string, depth: number): string | undefined => {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : path;
  if (depth > MAX_WALK || !isPlain(value)) return undefined;
  // for…in over own keys rather than Object.entries: every request runs this on its parameters and query.
  for (const k in value) {
    if (!Object.prototype.hasOwnProperty.call(value, k)) continue;
    const found = firstNonFinite(value[k], `${path}.${k}`, depth + 1);
    if (found) return found;
  }
  return undefined;
};

/**
 * `preHandler` hook on the root instance, after each route's schema validation: no infinite
 * number reaches a handler. Ajv coerces `?limit=1e309` to Infinity and then skips `maximum`
 * for non-finite numbers, and `JSON.parse` reads `1e309` as Infinity; both are refused here,
 * in the words of the other validation errors. Synchronous (a callback hook).
 */
export const refuseNonFiniteNumbers = (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void => {
  const found = firstNonFinite(request.params, 'params', 0) ?? firstNonFinite(request.query, 'querystring', 0) ?? firstNonFinite(request.body, 'body', 0);
  done(found ? new AgentryError('validation_failed', 'Validation failed', [`${found}: must be a finite number`]) : undefined);
};
