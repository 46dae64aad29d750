import type { FastifyRequest } from 'fastify';

/**
 * The paths the APIs own. Everything else a browser asks for with GET or HEAD belongs to the web
 * console (`src/api/web/`): its files, or its single page for a client-side route. API paths keep
 * their doors' own 404s whatever the Accept header says.
 */
const API_PATHS = /^\/(api|v0|v0\.1|v1|v2|registry|healthz|livez|readyz|metrics|openapi\.json)([/?.]|$)/;

export const isApiPath = (url: string): boolean => API_PATHS.test(url);

/** A GET or HEAD of a non-API path: the console's files and pages, which hold no data of anyone's. */
export const isConsoleRequest = (request: FastifyRequest): boolean => (request.method === 'GET' || request.method === 'HEAD') && !isApiPath(request.url);

/**
 * A browser navigation to a console page (a client-side route such as `/@alice/tool/v/1.0.0`): the
 * SPA fallback answers it with index.html. Browsers ask for pages with `Accept: text/html`, and for
 * scripts, styles and images without it, so a missing file stays a 404.
 */
export const wantsConsolePage = (request: FastifyRequest): boolean => isConsoleRequest(request) && /\btext\/html\b/.test(request.headers.accept ?? '');

/**
 * What a closed server (`--auth-required-for-reads`) still serves without a token: the console's
 * own files (every non-API route is one of them) and its pages. Any other request keeps its 401.
 */
export const isConsoleAsset = (request: FastifyRequest): boolean => isConsoleRequest(request) && (!request.is404 || wantsConsolePage(request));
