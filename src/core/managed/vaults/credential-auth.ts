import { badRequest } from '../../errors.js';
import { isPlainObject } from '../../packages/manifest/fields.js';

/**
 * A vault credential's `auth`, split in two: what may be shown (type, URLs, names) and the
 * secret fields, which go to the encrypted secret store and are never returned.
 */
export interface SplitAuth {
  shown: Record<string, unknown>;
  secret: Record<string, string>;
}

type AuthType = 'static_bearer' | 'environment_variable' | 'mcp_oauth';

/** The secret fields of each credential type, as dotted paths into `auth`. */
const SECRET_FIELDS: Record<AuthType, string[]> = {
  static_bearer: ['token'],
  environment_variable: ['secret_value'],
  mcp_oauth: ['access_token', 'refresh.refresh_token', 'refresh.token_endpoint_auth.client_secret'],
};

const REQUIRED: Record<AuthType, string[]> = {
  static_bearer: ['token', 'mcp_server_url'],
  environment_variable: ['secret_name', 'secret_value', 'networking'],
  mcp_oauth: ['access_token', 'mcp_server_url'],
};

const get = (o: Record<string, unknown>, path: string): unknown => path.split('.').reduce<unknown>((v, k) => (isPlainObject(v) ? v[k] : undefined), o);

const remove = (o: Record<string, unknown>, path: string): void => {
  const keys = path.split('.');
  let v: unknown = o;
  for (const k of keys.slice(0, -1)) v = isPlainObject(v) ? v[k] : undefined;
  if (isPlainObject(v)) delete v[keys[keys.length - 1]];
};

const authType = (auth: Record<string, unknown>): AuthType => {
  const t = auth.type;
  if (t === 'static_bearer' || t === 'environment_variable' || t === 'mcp_oauth') return t;
  throw badRequest('auth.type must be one of static_bearer, environment_variable, mcp_oauth');
};

const deepCopy = (o: Record<string, unknown>): Record<string, unknown> => JSON.parse(JSON.stringify(o)) as Record<string, unknown>;

/** Splits a new credential's auth; every required field must be there. */
export const splitNewAuth = (auth: Record<string, unknown>): SplitAuth => {
  const type = authType(auth);
  const missing = REQUIRED[type].filter((f) => get(auth, f) === undefined || get(auth, f) === null || get(auth, f) === '');
  if (missing.length > 0) throw badRequest(`auth: missing ${missing.map((m) => `'${m}'`).join(', ')} for a ${type} credential`);
  const shown = deepCopy(auth);
  const secret: Record<string, string> = {};
  for (const path of SECRET_FIELDS[type]) {
    const v = get(auth, path);
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') throw badRequest(`auth.${path} must be a string`);
    secret[path] = v;
    remove(shown, path);
  }
  if (type === 'environment_variable') {
    const loc = isPlainObject(shown.injection_location) ? shown.injection_location : {};
    shown.injection_location = { body: loc.body === true, header: loc.header === true };
  }
  if (type === 'mcp_oauth' && shown.expires_at === undefined) shown.expires_at = null;
  return { shown, secret };
};

/** Applies an update's auth to a credential: same type; shown fields merged, secret fields replaced when given. */
export const patchAuth = (current: SplitAuth, patch: Record<string, unknown>): SplitAuth => {
  const type = authType(patch);
  if (type !== current.shown.type) throw badRequest(`auth.type cannot change from '${String(current.shown.type)}' to '${type}'`);
  const secret = { ...current.secret };
  const incoming = deepCopy(patch);
  for (const path of SECRET_FIELDS[type]) {
    const v = get(incoming, path);
    if (v !== undefined && v !== null) {
      if (typeof v !== 'string') throw badRequest(`auth.${path} must be a string`);
      secret[path] = v;
    }
    remove(incoming, path);
  }
  const merge = (a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> => {
    const out = { ...a };
    for (const [k, v] of Object.entries(b)) out[k] = isPlainObject(v) && isPlainObject(out[k]) ? merge(out[k] as Record<string, unknown>, v) : v;
    return out;
  };
  return { shown: merge(current.shown, incoming), secret };
};
