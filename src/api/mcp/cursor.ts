import { badRequest } from '../../core/errors.js';

/**
 * The list cursor: an opaque, URL-safe token for the keyset position (server key and version id)
 * of the last row of a page. Publishes between pages never repeat or skip a server.
 */
export const encodeCursor = (pos: { key: string; versionId: number }): string => Buffer.from(JSON.stringify([pos.key, pos.versionId]), 'utf8').toString('base64url');

export const decodeCursor = (cursor: string): { key: string; versionId: number } => {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && Number.isSafeInteger(value[1])) {
      return { key: value[0], versionId: value[1] as number };
    }
  } catch {
    /* fall through */
  }
  throw badRequest('Invalid cursor', ["cursor: pass back the exact 'metadata.nextCursor' of the previous page"]);
};
