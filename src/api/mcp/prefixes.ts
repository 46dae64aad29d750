/** The MCP Registry API is served twice: `/v0.1` (current) and `/v0` (the same routes, older clients). */
export const MCP_PREFIXES = ['/v0', '/v0.1'] as const;
