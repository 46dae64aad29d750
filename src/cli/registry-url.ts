import { CliError } from './cli-error.js';
import { EXIT } from './exit-codes.js';

export const DEFAULT_REGISTRY = 'http://127.0.0.1:8080';

/** A registry URL in the one form the config file keys logins by: http(s), no trailing slash, no query. */
export const normalizeRegistryUrl = (raw: string): string => {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new CliError(`invalid registry URL '${raw}' (expected something like http://127.0.0.1:8080)`, [], EXIT.usage);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(`invalid registry URL '${raw}': only http and https are supported`, [], EXIT.usage);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
};
