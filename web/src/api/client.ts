import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './schema';
import { session } from '../session';

/** The typed client of this server's own API, generated from its /openapi.json at build time. */
export const api = createClient<paths>({ baseUrl: '' });

const withToken: Middleware = {
  onRequest({ request }) {
    const token = session.token();
    if (token) request.headers.set('authorization', `Bearer ${token}`);
    return request;
  },
};
api.use(withToken);

/** An API refusal in words: the door's message, its details, and the status. */
export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly details: string[] = []) {
    super(message);
  }
}

/** Each door's error body, read for its human message. */
const messageOf = (status: number, body: unknown): { message: string; details: string[] } => {
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    const details = Array.isArray(b.details) ? b.details.map(String) : Array.isArray(b.errors) ? b.errors.map(String) : [];
    if (typeof b.error === 'string') return { message: b.error, details };
    if (typeof b.detail === 'string') return { message: b.detail, details };
    if (b.error && typeof b.error === 'object' && typeof (b.error as { message?: unknown }).message === 'string') return { message: (b.error as { message: string }).message, details };
  }
  if (status === 0) return { message: 'The server could not be reached. Check that it is running and try again.', details: [] };
  return { message: `The server answered ${status}.`, details: [] };
};

/** Unwraps an openapi-fetch answer: its data, or an ApiError carrying the server's own words. */
export const ok = async <T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> => {
  let res;
  try {
    res = await call;
  } catch {
    throw new ApiError(0, messageOf(0, undefined).message);
  }
  if (res.response.ok) return res.data as T;
  const { message, details } = messageOf(res.response.status, res.error);
  throw new ApiError(res.response.status, message, details);
};

/** The URL segment of each kind in the native API. */
export const KIND_SEGMENT = { agent: 'agents', skill: 'skills', 'mcp-server': 'mcp-servers', recipe: 'recipes' } as const;
export type Kind = keyof typeof KIND_SEGMENT;
export const KINDS: Kind[] = ['agent', 'skill', 'mcp-server', 'recipe'];
export const KIND_LABEL: Record<Kind, string> = { agent: 'Agents', skill: 'Skills', 'mcp-server': 'MCP servers', recipe: 'Recipes' };
export const isKind = (k: string | undefined): k is Kind => k !== undefined && k in KIND_SEGMENT;
