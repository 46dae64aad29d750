import type { FastifyRequest } from 'fastify';
import { ErrorCode, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { AgentryError } from '../../core/errors.js';
import { McpRequestError } from '../../core/workloads/workload-proxy.js';
import { errorForRequest } from '../shared/framework-errors.js';

/** MCP's own code for a resource that is not there (or that the caller may not read: the same answer). */
export const RESOURCE_NOT_FOUND = -32002;

/**
 * The core's refusal (or a workload's JSON-RPC error) as an AgentryError the caller may see: 5xx are
 * logged and masked by the one mapping every door uses.
 */
const visible = (err: unknown, request: FastifyRequest): AgentryError => {
  if (err instanceof McpRequestError) return new AgentryError('bad_gateway', err.message);
  return errorForRequest(err, request);
};

const text = (e: AgentryError): string => (e.details.length > 0 ? `${e.message}: ${e.details.join('; ')}` : e.message);

/**
 * A tool's failure as MCP asks for it: a result with `isError`, which the calling model reads and
 * can act on (a bad argument, a package it may not read, a workload it may not stop).
 */
export const toolError = (err: unknown, request: FastifyRequest): CallToolResult => {
  const e = visible(err, request);
  return { content: [{ type: 'text', text: text(e) }], structuredContent: { error: { code: e.code, message: e.message, details: e.details } }, isError: true };
};

/** A refusal of a resource read or a prompt as a JSON-RPC error: bad input is invalid params, a missing (or unreadable) object is "not found". */
export const mcpError = (err: unknown, request: FastifyRequest): McpError => {
  if (err instanceof McpError) return err;
  const e = visible(err, request);
  const code =
    e.status === 400 || e.status === 414 || e.status === 422 ? ErrorCode.InvalidParams : e.status === 404 ? RESOURCE_NOT_FOUND : e.status >= 500 ? ErrorCode.InternalError : ErrorCode.InvalidRequest;
  return new McpError(code, text(e), { code: e.code });
};
