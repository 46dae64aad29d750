import { randomBytes } from 'node:crypto';

/** A new managed-object id: a type prefix and 24 random base62 characters (`agent_3kT…`). */
export const newManagedId = (prefix: string): string => {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  const bytes = randomBytes(24);
  let out = '';
  for (const b of bytes) out += alphabet[b % 62];
  return `${prefix}_${out}`;
};
