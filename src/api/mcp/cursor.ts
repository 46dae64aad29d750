import { badRequest } from '../../core/errors.js';
import type { MergedPosition } from '../../core/mirrors/mcp-mirror.js';

/**
 * The list cursor: an opaque, URL-safe token for the keyset position of the last row of a page, on
 * each side of the merged listing: local servers (server key and version id) and upstream servers
 * (server key and version). Publishes and upstream refreshes between pages never repeat or skip a
 * server. A cursor of a server without mirrors (`[key, versionId]`) is still understood.
 */
export const encodeCursor = (pos: MergedPosition): string =>
  Buffer.from(JSON.stringify([pos.local?.key ?? null, pos.local?.versionId ?? null, pos.upstream?.key ?? null, pos.upstream?.version ?? null]), 'utf8').toString('base64url');

const invalid = () => badRequest('Invalid cursor', ["cursor: pass back the exact 'metadata.nextCursor' of the previous page"]);

export const decodeCursor = (cursor: string): MergedPosition => {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(value) || (value.length !== 2 && value.length !== 4)) throw invalid();
  const [lKey, lId, uKey, uVersion] = value as unknown[];
  const local = typeof lKey === 'string' && Number.isSafeInteger(lId) ? { key: lKey, versionId: lId as number } : lKey === null && lId === null ? null : undefined;
  const upstream = typeof uKey === 'string' && typeof uVersion === 'string' ? { key: uKey, version: uVersion } : (uKey ?? null) === null && (uVersion ?? null) === null ? null : undefined;
  if (local === undefined || upstream === undefined || (local === null && upstream === null)) throw invalid();
  // An old cursor: upstream rows continue from the same name.
  return { local, upstream: value.length === 2 && local ? { key: local.key, version: '' } : upstream };
};
