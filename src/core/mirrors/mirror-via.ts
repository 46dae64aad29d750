import { randomBytes } from 'node:crypto';

/**
 * Loop protection between registries that mirror each other (Squid's and Harbor's `Via`): every
 * request Agentry sends to an upstream names the servers the lookup has passed through, this one
 * last, in this header. A server receiving a lookup that already passed through it, or that has
 * made {@link MAX_MIRROR_HOPS} hops, answers from what it holds only and asks no upstream: two
 * registries mirroring each other answer "not found" at once instead of asking each other until
 * the request times out.
 */
export const MIRROR_VIA_HEADER = 'x-agentry-mirror-via';

/** A lookup that has passed through this many servers asks no further upstream. */
export const MAX_MIRROR_HOPS = 8;

/** At most this many ids are read from the header (more is a loop or nonsense: local data only). */
const MAX_READ = 32;
const ID = /^[A-Za-z0-9._-]{1,64}$/;

/** The server ids a header names, in order; ids of an unknown shape are kept as `?` (they still count as hops). */
export const parseMirrorVia = (value: string | readonly string[] | undefined): string[] => {
  if (value === undefined) return [];
  const text = typeof value === 'string' ? value : value.join(',');
  const ids = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return ids.slice(0, MAX_READ + 1).map((s) => (ID.test(s) ? s : '?'));
};

/** The header's value for a list of ids. */
export const formatMirrorVia = (via: readonly string[]): string => via.join(', ');

/** This server's id in `Via` lists: random per process (a loop through another process of the same registry takes one hop more). */
export const newMirrorServerId = (): string => `agentry-${randomBytes(9).toString('base64url')}`;

/** Whether a lookup that came through `via` may ask this server's upstreams. */
export const mayAskUpstreams = (serverId: string, via: readonly string[] | undefined): boolean => via === undefined || (via.length < MAX_MIRROR_HOPS && !via.includes(serverId));

/** The `Via` list this server sends upstream for a lookup that came through `via` (itself appended). */
export const forwardVia = (serverId: string, via: readonly string[] | undefined): string[] => [...(via ?? []), serverId];
