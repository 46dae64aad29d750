import { badRequest } from '../errors.js';
import { MIRROR_OWNER } from '../mirrors/mirror.js';

/** Account names (users and orgs) double as scopes: lower-case slugs, 1-39 characters. */
export const ACCOUNT_NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,37}[a-z0-9])?$/;

/** Names no one may register; the mirrors' owning organisation is created by the mirror service alone. */
const RESERVED = new Set(['admin', 'api', 'root', 'system', 'agentry', 'registry', 'v2', 'www', 'static', MIRROR_OWNER]);

export const assertAccountName = (name: string, what: 'user' | 'org'): string => {
  const lower = name.toLowerCase();
  if (!ACCOUNT_NAME_PATTERN.test(lower) || lower.includes('--')) {
    throw badRequest(`Invalid ${what} name '${name}'`, [`${what} names are 1-39 characters of a-z, 0-9 and single '-', starting and ending with a letter or digit`]);
  }
  if (RESERVED.has(lower)) throw badRequest(`The ${what} name '${name}' is reserved`);
  return lower;
};
