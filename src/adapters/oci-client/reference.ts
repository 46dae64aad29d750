import { badRequest } from '../../core/errors.js';
import { isDigest } from './digest.js';

/**
 * Where a registry answers: `host` as written in references (`ghcr.io`, `127.0.0.1:5000`) and the
 * base URL the client sends to (`https://ghcr.io`, `http://127.0.0.1:5000`).
 */
export interface RegistryEndpoint {
  host: string;
  baseUrl: string;
}

/** A parsed reference: `registry/repository[:tag][@digest]`. */
export interface OciReference {
  registry: RegistryEndpoint;
  repository: string;
  tag?: string;
  digest?: string;
}

/** The OCI distribution spec's repository name grammar. */
const REPOSITORY = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const HOST = /^(\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*)(:[0-9]{1,5})?$/;

export const isRepositoryName = (name: string): boolean => name.length <= 255 && REPOSITORY.test(name);
export const isTag = (tag: string): boolean => TAG.test(tag);

/** Loopback hosts are spoken to over plain HTTP unless the reference says otherwise. */
const isLoopback = (host: string): boolean => {
  const name = host.replace(/:[0-9]+$/, '').replace(/^\[|\]$/g, '');
  return name === 'localhost' || name === '::1' || /^127\./.test(name);
};

export interface EndpointOptions {
  /** Speak plain HTTP to this registry even when it is not on the loopback interface. */
  plainHttp?: boolean;
}

/**
 * A registry from `host[:port]` or `http(s)://host[:port]`. An explicit scheme wins; without one the
 * client uses HTTPS, except for loopback hosts (localhost, 127.x, ::1) and when `plainHttp` is set.
 */
export const parseRegistry = (raw: string, opts: EndpointOptions = {}): RegistryEndpoint => {
  const text = raw.trim().replace(/\/+$/, '');
  const m = /^(https?):\/\/(.*)$/i.exec(text);
  const host = m ? m[2] : text;
  if (!HOST.test(host)) throw badRequest(`invalid registry '${raw}': expected host[:port], e.g. ghcr.io or 127.0.0.1:5000`);
  const scheme = m ? m[1].toLowerCase() : opts.plainHttp || isLoopback(host) ? 'http' : 'https';
  return { host: host.toLowerCase(), baseUrl: `${scheme}://${host.toLowerCase()}` };
};

/**
 * Parses `[http(s)://]host[:port]/repository[:tag][@digest]`. The registry part is required (there is
 * no default registry); so is a tag or a digest unless `allowBare` (for `tags`, `referrers`).
 *
 * @example
 *   parseReference('127.0.0.1:5000/team/agent:1.0.0')
 *   // { registry: { host: '127.0.0.1:5000', baseUrl: 'http://127.0.0.1:5000' }, repository: 'team/agent', tag: '1.0.0' }
 */
export const parseReference = (raw: string, opts: EndpointOptions & { allowBare?: boolean } = {}): OciReference => {
  const text = raw.trim();
  const schemeMatch = /^(https?:\/\/)/i.exec(text);
  const scheme = schemeMatch ? schemeMatch[1] : '';
  const rest = text.slice(scheme.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) throw badRequest(`invalid reference '${raw}': expected registry/repository[:tag][@digest], e.g. 127.0.0.1:5000/team/agent:1.0.0`);
  const first = rest.slice(0, slash);
  // As docker reads names: the first part is a registry only if it has a '.' or a ':' or is localhost.
  if (!scheme && !/[.:]/.test(first) && first !== 'localhost') {
    throw badRequest(`invalid reference '${raw}': expected registry/repository[:tag][@digest] starting with a registry host (there is no default registry), e.g. 127.0.0.1:5000/${rest}`);
  }
  const registry = parseRegistry(scheme + first, opts);
  let path = rest.slice(slash + 1);
  let digest: string | undefined;
  const at = path.indexOf('@');
  if (at >= 0) {
    digest = path.slice(at + 1);
    path = path.slice(0, at);
    if (!isDigest(digest)) throw badRequest(`invalid reference '${raw}': '${digest}' is not a sha256 or sha512 digest`);
  }
  let tag: string | undefined;
  const colon = path.lastIndexOf(':');
  if (colon > path.lastIndexOf('/')) {
    tag = path.slice(colon + 1);
    path = path.slice(0, colon);
    if (!isTag(tag)) throw badRequest(`invalid reference '${raw}': '${tag}' is not a valid tag (letters, digits, '_', '.', '-'; at most 128)`);
  }
  if (!isRepositoryName(path)) {
    throw badRequest(`invalid reference '${raw}': '${path}' is not a valid repository name (lower-case letters, digits, separators '.', '_', '-', and '/')`);
  }
  if (!tag && !digest && !opts.allowBare) throw badRequest(`invalid reference '${raw}': name a tag (:1.0.0) or a digest (@sha256:…)`);
  return { registry, repository: path, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
};

/** The part after the repository that the registry's manifest URL takes: the digest if any, else the tag. */
export const manifestSelector = (ref: OciReference): string => {
  const sel = ref.digest ?? ref.tag;
  if (!sel) throw badRequest(`the reference ${formatReference(ref)} names neither a tag nor a digest`);
  return sel;
};

/** `host/repository[:tag][@digest]`. */
export const formatReference = (ref: OciReference): string => `${ref.registry.host}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
