import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorForRequest } from '../shared/framework-errors.js';

/**
 * The ToolHive door's two error shapes, each mapped in one place. ToolHive's `/api/v1beta` handlers
 * answer errors as plain text (`http.Error`); its `/registry/{name}/v0.1` routes answer
 * `registryErrorResponse`, `{"code": "not_found", "message": "..."}` (a string code). 5xx are logged, never leaked.
 */
const describe = (message: string, details: string[]): string => (details.length > 0 ? `${message}: ${details.join('; ')}` : message);

export const toolhiveTextErrorHandler = (err: unknown, request: FastifyRequest, reply: FastifyReply): void => {
  const mapped = errorForRequest(err, request);
  void reply
    .status(mapped.status)
    .type('text/plain; charset=utf-8')
    .send(`${describe(mapped.message, mapped.details)}\n`);
};

/** ToolHive's string codes where they differ from Agentry's (`not_found` and `bad_request` are the same). */
const REGISTRY_CODE: Partial<Record<string, string>> = { internal: 'internal_error', validation_failed: 'bad_request' };

export const toolhiveRegistryErrorHandler = (err: unknown, request: FastifyRequest, reply: FastifyReply): void => {
  const mapped = errorForRequest(err, request);
  void reply
    .status(mapped.status)
    .type('application/json; charset=utf-8')
    .send({ ...mapped.fields, code: REGISTRY_CODE[mapped.code] ?? mapped.code, message: describe(mapped.message, mapped.details) });
};
