import { badRequest } from '../errors.js';

/**
 * Opaque page tokens for managed-agents lists (the SDK's `page`, 002's `cursor`: the same token).
 * A token names the position after the last item of a page; a list answers `next_page: null`
 * on its last page, so a client never sees a page twice.
 */
export interface Paged<T> {
  rows: T[];
  nextPage: string | null;
}

export interface PageRequest {
  limit: number;
  /** The token of the page to read; absent for the first page. */
  page?: string;
}

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export const encodePageToken = (position: number): string => Buffer.from(JSON.stringify({ p: position }), 'utf8').toString('base64url');

/** The position a token names; a token that is not one of ours is a 400. */
export const decodePageToken = (token: string | undefined): number | undefined => {
  if (token === undefined || token === '') return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { p?: unknown };
    if (typeof parsed.p === 'number' && Number.isSafeInteger(parsed.p) && parsed.p >= 0) return parsed.p;
  } catch {
    /* fall through */
  }
  throw badRequest(`Invalid page token '${token.slice(0, 100)}': pass the next_page value of a previous answer`);
};

export const pageLimit = (limit: number | undefined): number => {
  if (limit === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) throw badRequest(`limit must be a whole number from 1 to ${MAX_PAGE_SIZE}`);
  return limit;
};

/**
 * Cuts a page from rows read with `limit + 1`: the extra row only says another page exists.
 * `position` gives the key the next page starts after (a sequence number, a revision, an offset).
 */
export const cutPage = <T>(rows: T[], limit: number, position: (row: T) => number): Paged<T> => {
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  return { rows: page, nextPage: more && page.length > 0 ? encodePageToken(position(page[page.length - 1])) : null };
};

/** A page of a list held in memory (short lists such as a caller's API keys); the token is an offset. */
export const pageOfArray = <T>(items: T[], req: PageRequest & { limit: number }): Paged<T> => {
  const start = decodePageToken(req.page) ?? 0;
  const rows = items.slice(start, start + req.limit);
  const end = start + rows.length;
  return { rows, nextPage: end < items.length ? encodePageToken(end) : null };
};
