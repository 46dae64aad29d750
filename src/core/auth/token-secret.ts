import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * API token secrets: `agentry_` + 43 characters of base64url (256 random bits).
 * Only the SHA-256 of a token is stored; a token is found by its full hash, never by a prefix.
 */
export const TOKEN_PREFIX = 'agentry_';
const TOKEN_PATTERN = /^agentry_[A-Za-z0-9_-]{43}$/;

export const generateTokenSecret = (): string => TOKEN_PREFIX + randomBytes(32).toString('base64url');

export const hashTokenSecret = (secret: string): string => createHash('sha256').update(secret, 'utf8').digest('hex');

export const looksLikeToken = (secret: string): boolean => TOKEN_PATTERN.test(secret);

/** The first characters of a token, safe to show in lists so a user can tell tokens apart. */
export const displayPrefix = (secret: string): string => secret.slice(0, TOKEN_PREFIX.length + 6);

/** Constant-time comparison of two hex hashes. */
export const sameHash = (a: string, b: string): boolean => {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
};
