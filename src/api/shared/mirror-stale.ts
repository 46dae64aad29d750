import type { FastifyReply } from 'fastify';

/** Names the MCP upstreams an answer was served without reading (their cache, stale, or nothing): the upstream failed. */
export const MIRROR_STALE_HEADER = 'x-agentry-mirror-stale';

/** Says in a header which upstreams were served from a stale cache (the core logs it too). */
export const markStale = (reply: FastifyReply, stale: string[]): void => {
  if (stale.length > 0) void reply.header(MIRROR_STALE_HEADER, stale.join(', '));
};
