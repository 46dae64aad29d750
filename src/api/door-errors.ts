import type { FastifyReply, FastifyRequest } from 'fastify';
import { AgentryError } from '../core/errors.js';
import { a2aErrorHandler } from './a2a/errors.js';
import { alquimiaErrorHandler } from './alquimia/errors.js';
import { managedErrorHandler } from './managed/errors.js';
import { mcpErrorHandler } from './mcp/errors.js';
import { nativeErrorHandler } from './native/errors.js';
import { ociErrorHandler } from './oci/errors.js';
import { praisonaiErrorHandler } from './praisonai/errors.js';
import { toolhiveRegistryErrorHandler, toolhiveTextErrorHandler } from './toolhive/errors.js';
import { jsonRpcErrorHandler } from './shared/jsonrpc-errors.js';
import { workloadProxyErrorHandler } from './workload-proxy/errors.js';

type ErrorHandler = (err: unknown, request: FastifyRequest, reply: FastifyReply) => void;

/**
 * Which door answers a refusal made before any of its routes ran: an unknown route, or a URL the
 * router cannot read (bad percent-encoding, an over-long segment). Doors share prefixes (`/v1` holds
 * PraisonAI's recipes and the managed-agents API, `/registry` holds Alquimia and ToolHive's
 * catalogue), so the decision is made here, by URL, once for all doors; the first match wins.
 */
export const doorErrorHandlers = (publicUrl: string | undefined): Array<[RegExp, ErrorHandler]> => [
  [/^\/v1\/(recipes|search)([/?]|$)/, praisonaiErrorHandler],
  [/^\/v1([/?]|$)/, managedErrorHandler],
  [/^\/v2([/?]|$)/, ociErrorHandler(publicUrl)],
  [/^\/v0(\.1)?([/?]|$)/, mcpErrorHandler],
  [/^\/api\/v1beta([/?]|$)/, toolhiveTextErrorHandler],
  [/^\/registry\/[^/?]+\/v0\.1([/?]|$)/, toolhiveRegistryErrorHandler],
  [/^\/registry([/?]|$)/, alquimiaErrorHandler],
  [/^\/(a2a|\.well-known\/agent-card\.json)([/?]|$)/, a2aErrorHandler],
  // Every route under /workloads/ is the workload proxy's (an MCP endpoint): its unknown ones too.
  [/^\/workloads([/?]|$)/, workloadProxyErrorHandler],
  [/^\/mcp([/?]|$)/, jsonRpcErrorHandler],
  [/^/, nativeErrorHandler],
];

/** The error handler of the door whose prefix `url` is under (the native door's for the rest). */
export const doorErrorHandler = (handlers: Array<[RegExp, ErrorHandler]>, url: string): ErrorHandler => (handlers.find(([prefix]) => prefix.test(url)) ?? handlers[handlers.length - 1]!)[1];

/** An unknown route, answered as its door answers a 404. */
export const noRoute = (request: FastifyRequest): AgentryError => new AgentryError('not_found', `No route for ${request.method} ${request.url.split('?')[0]}`);
