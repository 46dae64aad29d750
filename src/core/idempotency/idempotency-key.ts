import { createHash } from 'node:crypto';
import { badRequest } from '../errors.js';

/** How long a publish is remembered under its key: a retry within this time gets the original answer. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';

/**
 * An `Idempotency-Key` header as a client sent it (IETF draft-ietf-httpapi-idempotency-key-header:
 * an opaque string, a UUID in practice): 1 to 255 visible ASCII characters. Absent or empty is
 * undefined; anything else is a 400 naming the rule.
 */
export const parseIdempotencyKey = (raw: string | string[] | undefined): string | undefined => {
  if (raw === undefined) return undefined;
  if (Array.isArray(raw)) {
    if (raw.length > 1) throw badRequest(`Send one ${IDEMPOTENCY_HEADER} header, not ${raw.length}`);
    raw = raw[0] ?? '';
  }
  const key = raw.trim();
  if (key === '') return undefined;
  if (key.length > 255 || !/^[\x21-\x7e]+$/.test(key)) {
    throw badRequest(`${IDEMPOTENCY_HEADER} must be 1 to 255 visible ASCII characters (a UUID, say)`);
  }
  return key;
};

/**
 * What a retry must repeat exactly: the target (kind, package, version and tag as asked) and the
 * sha256 of the bytes. Two requests with one key and different fingerprints are a client error.
 */
export const publishFingerprint = (target: Record<string, string | boolean | undefined>, bytes: Buffer): string => {
  const h = createHash('sha256');
  h.update(JSON.stringify(Object.entries(target).sort(([a], [b]) => a.localeCompare(b))));
  h.update('\n');
  h.update(bytes);
  return h.digest('hex');
};
