import { hashTokenSecret, sameHash } from './token-secret.js';

/**
 * Whether `given` is `expected`, compared in constant time whatever their lengths: both are
 * hashed first, so neither the length nor a common prefix shows in the timing. For shared
 * secrets set by an operator (the metrics token), which are not stored as hashes.
 */
export const sameSecret = (given: string, expected: string): boolean => sameHash(hashTokenSecret(given), hashTokenSecret(expected));
