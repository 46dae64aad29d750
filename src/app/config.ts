import type { SupervisorTimings } from '../core/workloads/supervisor.js';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { parseBlobStoreUrl } from '../storage/blobs/blob-store-url.js';
import { resolveSecretsConfig, type SecretsConfig } from './secrets-config.js';
import { AllowList } from '../adapters/egress/index.js';
import type { OAuthProviderConfig } from '../adapters/oauth/http-oauth-client.js';
import { VISIBILITIES, isVisibility, type Visibility } from '../core/access/visibility.js';
import { RATE_LIMIT_PRESETS, isRateLimitPreset, parseRateLimitRule, presetRules, type RateLimitRule, type RateLimitRules } from '../core/rate-limits/rules.js';

/** Everything the server is configured with; flags win over environment, environment over defaults. */
export interface ServerConfig {
  host: string;
  port: number;
  dataDir: string;
  databaseUrl?: string;
  /** PostgreSQL schema to keep tables in (tests use one per server). */
  databaseSchema?: string;
  /** Where blobs are kept: `s3://bucket/prefix?endpoint=…&region=…&forcePathStyle=true` or `file:///path`; absent: `<dataDir>/blobs`. */
  blobStore?: string;
  /**
   * Seconds a presigned download URL stays valid when blob downloads answer 307 to the S3 store
   * (`--blob-redirects` / AGENTRY_BLOB_REDIRECTS); null: off, the server streams every download.
   */
  blobRedirectSeconds: number | null;
  adminToken?: string;
  /** When set, `/metrics` answers only a Bearer of this value (AGENTRY_METRICS_TOKEN). */
  metricsToken?: string;
  publicUrl?: string;
  logLevel: string;
  /** Where log lines go instead of stdout (tests). */
  logStream?: NodeJS.WritableStream;
  /** Serve reads only and refuse every write, on every door. */
  readOnly: boolean;
  /** Run local MCP workloads without the sandbox when bubblewrap is missing (AGENTRY_UNSAFE_LOCAL_WORKLOADS). */
  unsafeLocalWorkloads: boolean;
  /** Supervisor timings of MCP workloads (tests shorten them; no flag). */
  workloadTimings?: Partial<SupervisorTimings>;
  /** The visibility new scopes (and so their new packages) start with (AGENTRY_DEFAULT_VISIBILITY; default public). */
  defaultVisibility: Visibility;
  /** Every read needs a token, on every door but /healthz (AGENTRY_AUTH_REQUIRED_FOR_READS). */
  authRequiredForReads: boolean;
  /** The scope single-level OCI repository names belong to (AGENTRY_OCI_DEFAULT_SCOPE); absent: such names are NAME_INVALID. */
  ociDefaultScope?: string;
  /** The OCI registry agentspaces are published to by default (AGENTRY_OCI_REGISTRY_DEFAULT); this server's /v2/ when unset. */
  ociRegistryDefault?: string;
  /** Where secret values are kept (AGENTRY_SECRET_BACKEND and friends). */
  secrets: SecretsConfig;
  /** The environment the server started with (the env secret backend reads it). */
  env: NodeJS.ProcessEnv;
  /** The only server-side folder skills may be validated from (`POST /api/v1beta/skills/validate` with a path). */
  skillsRoot?: string;
  /** The home directory whose MCP client settings files `/api/v1beta/clients` edits (AGENTRY_CLIENTS_HOME; default: the home of the account running the server). */
  clientsHome: string;
  /** The scope PraisonAI's unscoped recipe names map onto (AGENTRY_RECIPE_SCOPE). */
  recipeScope: string;
  /** Load balancers whose X-Forwarded-* headers are believed (AGENTRY_TRUST_PROXY / --trust-proxy): IPs, CIDRs, `loopback`, …; empty: none. */
  trustProxy: string[];
  /** Exceptions to the egress policy's refused ranges (AGENTRY_EGRESS_ALLOW / --egress-allow): hosts, host:port, IPs, CIDRs, `*`. */
  egressAllow: string[];
  /** Run the session runtime's workers in this process (default true; `--no-runtime` / AGENTRY_RUNTIME=false). */
  runtime: boolean;
  /** The runtime's timing (AGENTRY_RUNTIME_LEASE_MS, AGENTRY_RUNTIME_RETRY_BASE_MS, AGENTRY_SSE_HEARTBEAT_MS). */
  runtimeTiming: { leaseMs: number; retryBaseMs: number; heartbeatMs: number };
  /** Run agents' bash on the host, without isolation, when no sandbox works (AGENTRY_UNSAFE_LOCAL_TOOLS / --unsafe-local-tools). */
  unsafeLocalTools: boolean;
  /** The bubblewrap binary (AGENTRY_BWRAP); default: /usr/bin/bwrap, /usr/local/bin/bwrap or /bin/bwrap. */
  bwrapPath?: string;
  /** An OpenAI-compatible embeddings endpoint for memory-store search (AGENTRY_EMBEDDINGS_URL, _MODEL, _API_KEY). */
  embeddings?: { url: string; model: string; apiKey?: string };
  limits: {
    maxBodyBytes: number;
    maxTarballBytes: number;
    maxUnpackedBytes: number;
    maxFiles: number;
    /** Largest file of the managed-agents files resource. */
    maxFileBytes: number;
  };
  /** Rate limits (`null`: off); all off unless `--rate-limits agentx` or a per-limit setting says otherwise. */
  rateLimits: RateLimitRules;
  /** `redis://…`: keep rate-limit counters in Redis, shared by every server process on it. */
  redisUrl?: string;
  /** Prefix of every Redis key this server writes. */
  redisKeyPrefix: string;
  /** Sign-in through an OAuth2 provider (GitHub by default); absent without a client id. */
  oauth?: OAuthProviderConfig & {
    /** Redirect URIs allowed besides loopback ones. */
    redirectUris: string[];
    /** Lifetime of a sign-in token in days; null: none. */
    tokenDays: number | null;
  };
}

export interface ServeFlags {
  host?: string;
  port?: number | string;
  dataDir?: string;
  databaseUrl?: string;
  blobStore?: string;
  /** `off` (default), `on` (5 minutes) or how long a presigned URL lasts: `300`, `90s`, `10m`, `1h`. */
  blobRedirects?: string;
  adminToken?: string;
  publicUrl?: string;
  logLevel?: string;
  readOnly?: boolean;
  unsafeLocalWorkloads?: boolean;
  defaultVisibility?: string;
  authRequiredForReads?: boolean;
  recipeScope?: string;
  /** `off` (default), `agentx` or `custom`. */
  rateLimits?: string;
  rateLimitAnonymous?: string;
  rateLimitUser?: string;
  rateLimitPublish?: string;
  redisUrl?: string;
  egressAllow?: string;
  metricsToken?: string;
  /** false: no session runtime workers in this process. */
  runtime?: boolean;
  trustProxy?: string;
  ociDefaultScope?: string;
  unsafeLocalTools?: boolean;
}

const MB = 1024 * 1024;

const intFrom = (name: string, value: string | number | undefined, fallback: number, min: number, max: number): number => {
  if (value === undefined || value === '') return fallback;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be a whole number from ${min} to ${max} (got '${value}')`);
  return n;
};

const boolFrom = (name: string, value: string | undefined): boolean => {
  if (value === undefined || value === '') return false;
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new Error(`${name} must be true or false (got '${value}')`);
};

const visibilityFrom = (name: string, value: string | undefined): Visibility => {
  if (value === undefined || value === '') return 'public';
  const v = value.trim().toLowerCase();
  if (!isVisibility(v)) throw new Error(`${name} must be one of ${VISIBILITIES.join(', ')} (got '${value}')`);
  return v;
};

const urlFrom = (name: string, value: string | undefined, fallback: string): string => {
  const v = value || fallback;
  if (!/^https?:\/\/[^/]+/.test(v)) throw new Error(`${name} must be an http(s) URL (got '${v}')`);
  return v;
};

/** AGENTRY_OAUTH_*: GitHub's endpoints unless told otherwise, so any OAuth2/OIDC provider fits. */
const oauthFrom = (env: NodeJS.ProcessEnv): ServerConfig['oauth'] => {
  const clientId = env.AGENTRY_OAUTH_CLIENT_ID;
  if (!clientId) return undefined;
  const clientSecret = env.AGENTRY_OAUTH_CLIENT_SECRET;
  if (!clientSecret) throw new Error('AGENTRY_OAUTH_CLIENT_SECRET must be set with AGENTRY_OAUTH_CLIENT_ID');
  const days = env.AGENTRY_OAUTH_TOKEN_DAYS;
  return {
    name: env.AGENTRY_OAUTH_PROVIDER || 'github',
    clientId,
    clientSecret,
    authorizeUrl: urlFrom('AGENTRY_OAUTH_AUTHORIZE_URL', env.AGENTRY_OAUTH_AUTHORIZE_URL, 'https://github.com/login/oauth/authorize'),
    tokenUrl: urlFrom('AGENTRY_OAUTH_TOKEN_URL', env.AGENTRY_OAUTH_TOKEN_URL, 'https://github.com/login/oauth/access_token'),
    userinfoUrl: urlFrom('AGENTRY_OAUTH_USERINFO_URL', env.AGENTRY_OAUTH_USERINFO_URL, 'https://api.github.com/user'),
    scopes: env.AGENTRY_OAUTH_SCOPES ?? 'read:user user:email',
    redirectUris: (env.AGENTRY_OAUTH_REDIRECT_URIS ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0),
    tokenDays: days === 'never' ? null : intFrom('AGENTRY_OAUTH_TOKEN_DAYS', days, 90, 1, 3650),
  };
};

const ruleFrom = (name: string, value: string | undefined, fallback: RateLimitRule | null, defaultWindowMs: number): RateLimitRule | null =>
  value === undefined || value === '' ? fallback : parseRateLimitRule(name, value, fallback?.windowMs ?? defaultWindowMs);

/**
 * The rate limits: a preset (`--rate-limits` / AGENTRY_RATE_LIMITS: `off`, the default, `agentx` or
 * `custom`), then the per-limit settings over it. A per-limit setting without a preset means
 * `custom`; with an explicit `off` it contradicts it and is refused.
 */
const rateLimitsFrom = (flags: ServeFlags, env: NodeJS.ProcessEnv): RateLimitRules => {
  const values = {
    anonymous: flags.rateLimitAnonymous ?? (env.AGENTRY_RATE_LIMIT_ANONYMOUS || undefined),
    user: flags.rateLimitUser ?? (env.AGENTRY_RATE_LIMIT_USER || undefined),
    publish: flags.rateLimitPublish ?? (env.AGENTRY_RATE_LIMIT_PUBLISH || undefined),
  };
  const anySet = Object.values(values).some((v) => v !== undefined);
  const raw = (flags.rateLimits ?? (env.AGENTRY_RATE_LIMITS || undefined))?.trim().toLowerCase();
  if (raw !== undefined && !isRateLimitPreset(raw)) {
    throw new Error(`rate limits must be one of ${RATE_LIMIT_PRESETS.join(', ')} (got '${raw}')`);
  }
  if (raw === 'off' && anySet) throw new Error("--rate-limits off contradicts a per-limit setting (--rate-limit-*); use --rate-limits custom or agentx");
  const base = presetRules(raw ?? (anySet ? 'custom' : 'off'));
  return {
    anonymous: ruleFrom('AGENTRY_RATE_LIMIT_ANONYMOUS', values.anonymous, base.anonymous, 60_000),
    user: ruleFrom('AGENTRY_RATE_LIMIT_USER', values.user, base.user, 60_000),
    publish: ruleFrom('AGENTRY_RATE_LIMIT_PUBLISH', values.publish, base.publish, 3_600_000),
  };
};

const REDIRECT_DEFAULT_SECONDS = 300;
/** S3 signature v4 URLs last at most 7 days. */
const REDIRECT_MAX_SECONDS = 7 * 24 * 3600;

/**
 * `--blob-redirects`: off unless asked; `on` is 5 minutes; a lifetime in seconds (`300`, `90s`),
 * minutes (`10m`) or hours (`1h`), from 1 s to 7 days. Only an S3 store can sign URLs.
 */
const blobRedirectsFrom = (name: string, value: string | undefined, blobStore: string | undefined): number | null => {
  const v = (value ?? '').trim().toLowerCase();
  if (v === '' || /^(0|false|no|off)$/.test(v)) return null;
  let seconds: number;
  if (/^(true|yes|on)$/.test(v)) seconds = REDIRECT_DEFAULT_SECONDS;
  else {
    const m = /^(\d+)(s|m|h)?$/.exec(v);
    if (!m) throw new Error(`${name} must be off, on, or how long a download URL lasts (300, 90s, 10m, 1h) (got '${value}')`);
    seconds = Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
  }
  if (!Number.isSafeInteger(seconds) || seconds < 1 || seconds > REDIRECT_MAX_SECONDS) {
    throw new Error(`${name} must last from 1 second to 7 days (got '${value}')`);
  }
  if (parseBlobStoreUrl(blobStore, '').kind !== 's3') {
    throw new Error(`${name} needs an S3 blob store (--blob-store s3://…): a blob folder cannot hand out download URLs`);
  }
  return seconds;
};

/**
 * Resolves the server configuration from flags and the environment:
 * AGENTRY_HOST, AGENTRY_PORT, AGENTRY_DATA_DIR, AGENTRY_DATABASE_URL, AGENTRY_BLOB_STORE, AGENTRY_BLOB_REDIRECTS, AGENTRY_ADMIN_TOKEN,
 * AGENTRY_PUBLIC_URL, AGENTRY_LOG_LEVEL, AGENTRY_READ_ONLY, AGENTRY_DEFAULT_VISIBILITY, AGENTRY_AUTH_REQUIRED_FOR_READS, AGENTRY_RECIPE_SCOPE, AGENTRY_MAX_TARBALL_MB, AGENTRY_MAX_UNPACKED_MB, AGENTRY_MAX_FILES,
 * AGENTRY_RATE_LIMITS, AGENTRY_RATE_LIMIT_ANONYMOUS, AGENTRY_RATE_LIMIT_USER, AGENTRY_RATE_LIMIT_PUBLISH, AGENTRY_REDIS_URL, AGENTRY_REDIS_PREFIX,
 * AGENTRY_METRICS_TOKEN, AGENTRY_TRUST_PROXY, AGENTRY_OCI_DEFAULT_SCOPE, AGENTRY_EGRESS_ALLOW, AGENTRY_UNSAFE_LOCAL_TOOLS, AGENTRY_BWRAP.
 */
export const resolveConfig = (flags: ServeFlags, env: NodeJS.ProcessEnv = process.env): ServerConfig => {
  const databaseUrl = flags.databaseUrl ?? (env.AGENTRY_DATABASE_URL || undefined);
  // Refuse a malformed blob store (or one carrying credentials) before anything starts.
  const blobStore = flags.blobStore ?? (env.AGENTRY_BLOB_STORE || undefined);
  parseBlobStoreUrl(blobStore, '');
  const publicUrl = flags.publicUrl ?? (env.AGENTRY_PUBLIC_URL || undefined);
  if (publicUrl && !/^https?:\/\/[^/]+/.test(publicUrl)) throw new Error(`public URL must be an http(s) URL (got '${publicUrl}')`);
  return {
    host: flags.host ?? env.AGENTRY_HOST ?? '127.0.0.1',
    port: intFrom('port', flags.port ?? env.AGENTRY_PORT, 8080, 0, 65535),
    dataDir: resolve(flags.dataDir ?? env.AGENTRY_DATA_DIR ?? './data'),
    databaseUrl,
    databaseSchema: env.AGENTRY_DATABASE_SCHEMA || undefined,
    blobStore,
    blobRedirectSeconds: blobRedirectsFrom(
      flags.blobRedirects !== undefined ? '--blob-redirects' : 'AGENTRY_BLOB_REDIRECTS',
      flags.blobRedirects ?? env.AGENTRY_BLOB_REDIRECTS,
      blobStore,
    ),
    adminToken: flags.adminToken ?? (env.AGENTRY_ADMIN_TOKEN || undefined),
    metricsToken: metricsTokenFrom(flags.metricsToken ?? (env.AGENTRY_METRICS_TOKEN || undefined)),
    publicUrl: publicUrl?.replace(/\/+$/, ''),
    logLevel: flags.logLevel ?? env.AGENTRY_LOG_LEVEL ?? 'info',
    readOnly: flags.readOnly ?? boolFrom('AGENTRY_READ_ONLY', env.AGENTRY_READ_ONLY),
    unsafeLocalWorkloads: flags.unsafeLocalWorkloads ?? boolFrom('AGENTRY_UNSAFE_LOCAL_WORKLOADS', env.AGENTRY_UNSAFE_LOCAL_WORKLOADS),
    defaultVisibility: visibilityFrom(flags.defaultVisibility !== undefined ? '--default-visibility' : 'AGENTRY_DEFAULT_VISIBILITY', flags.defaultVisibility ?? env.AGENTRY_DEFAULT_VISIBILITY),
    authRequiredForReads: flags.authRequiredForReads ?? boolFrom('AGENTRY_AUTH_REQUIRED_FOR_READS', env.AGENTRY_AUTH_REQUIRED_FOR_READS),
    secrets: resolveSecretsConfig(env),
    ociRegistryDefault: env.AGENTRY_OCI_REGISTRY_DEFAULT || undefined,
    ociDefaultScope: ociDefaultScopeFrom(flags.ociDefaultScope !== undefined ? '--oci-default-scope' : 'AGENTRY_OCI_DEFAULT_SCOPE', flags.ociDefaultScope ?? env.AGENTRY_OCI_DEFAULT_SCOPE),
    env,
    skillsRoot: env.AGENTRY_SKILLS_ROOT ? resolve(env.AGENTRY_SKILLS_ROOT) : undefined,
    clientsHome: resolve(env.AGENTRY_CLIENTS_HOME || homedir()),
    recipeScope: (flags.recipeScope ?? (env.AGENTRY_RECIPE_SCOPE || 'recipes')).replace(/^@/, '').toLowerCase(),
    embeddings: embeddingsFrom(env),
    trustProxy: trustProxyFrom(flags.trustProxy !== undefined ? '--trust-proxy' : 'AGENTRY_TRUST_PROXY', flags.trustProxy ?? env.AGENTRY_TRUST_PROXY),
    egressAllow: egressAllowFrom(flags.egressAllow ?? env.AGENTRY_EGRESS_ALLOW),
    runtime: flags.runtime ?? !/^(false|0|no|off)$/i.test(env.AGENTRY_RUNTIME ?? ''),
    runtimeTiming: {
      leaseMs: intFrom('AGENTRY_RUNTIME_LEASE_MS', env.AGENTRY_RUNTIME_LEASE_MS, 30_000, 500, 3_600_000),
      retryBaseMs: intFrom('AGENTRY_RUNTIME_RETRY_BASE_MS', env.AGENTRY_RUNTIME_RETRY_BASE_MS, 1_000, 0, 600_000),
      heartbeatMs: intFrom('AGENTRY_SSE_HEARTBEAT_MS', env.AGENTRY_SSE_HEARTBEAT_MS, 15_000, 100, 600_000),
    },
    unsafeLocalTools: flags.unsafeLocalTools ?? boolFrom('AGENTRY_UNSAFE_LOCAL_TOOLS', env.AGENTRY_UNSAFE_LOCAL_TOOLS),
    bwrapPath: env.AGENTRY_BWRAP ? resolve(env.AGENTRY_BWRAP) : undefined,
    limits: {
      maxBodyBytes: 1 * MB,
      maxTarballBytes: intFrom('AGENTRY_MAX_TARBALL_MB', env.AGENTRY_MAX_TARBALL_MB, 50, 1, 10_000) * MB,
      maxUnpackedBytes: intFrom('AGENTRY_MAX_UNPACKED_MB', env.AGENTRY_MAX_UNPACKED_MB, 200, 1, 100_000) * MB,
      maxFiles: intFrom('AGENTRY_MAX_FILES', env.AGENTRY_MAX_FILES, 10_000, 1, 1_000_000),
      maxFileBytes: intFrom('AGENTRY_MAX_FILE_MB', env.AGENTRY_MAX_FILE_MB, 100, 1, 100_000) * MB,
    },
    rateLimits: rateLimitsFrom(flags, env),
    redisUrl: flags.redisUrl ?? (env.AGENTRY_REDIS_URL || undefined),
    redisKeyPrefix: env.AGENTRY_REDIS_PREFIX || 'agentry:',
    oauth: oauthFrom(env),
  };
};

/** A scope name that is also an OCI repository component (`library`, `acme-corp`), with or without '@'. */
const ociDefaultScopeFrom = (name: string, value: string | undefined): string | undefined => {
  const v = (value ?? '').trim().replace(/^@/, '');
  if (v === '') return undefined;
  if (!/^[a-z0-9]+(?:[.-][a-z0-9]+)*$/.test(v) || v.length > 100) {
    throw new Error(`${name} must be a scope name: lower-case letters and digits, separated by single '.' or '-' (got '${value}')`);
  }
  return v;
};

const PROXY_KEYWORDS = new Set(['loopback', 'linklocal', 'uniquelocal']);
const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** 4 or 6 for an IP address, 0 otherwise (the WHATWG URL parser checks IPv6 literals). */
const ipFamily = (ip: string): 0 | 4 | 6 => {
  if (IPV4.test(ip)) return 4;
  if (!ip.includes(':')) return 0;
  try {
    new URL(`http://[${ip}]/`);
    return 6;
  } catch {
    return 0;
  }
};

/** `10.0.0.5,10.1.0.0/16,loopback`: the load balancers in front of this server (checked at start). */
const trustProxyFrom = (name: string, value: string | undefined): string[] => {
  const entries = (value ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  for (const e of entries) {
    if (PROXY_KEYWORDS.has(e)) continue;
    const [ip, bits, ...rest] = e.split('/');
    const family = ipFamily(ip);
    const max = family === 4 ? 32 : 128;
    if (family === 0 || rest.length > 0 || (bits !== undefined && (!/^\d{1,3}$/.test(bits) || Number(bits) > max))) {
      throw new Error(`${name} takes IP addresses, CIDRs and loopback, linklocal or uniquelocal, comma-separated (got '${e}')`);
    }
  }
  return entries;
};

/** `a,b:443,10.0.0.0/8`: checked here so a typo stops the server at start, not at the first call. */
const egressAllowFrom = (value: string | undefined): string[] => {
  const entries = (value ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  new AllowList(entries);
  return entries;
};

/** A metrics token: long enough not to be guessed, one line (it travels in a header). */
const metricsTokenFrom = (value: string | undefined): string | undefined => {
  if (value === undefined || value === '') return undefined;
  if (value.length < 16 || !/^[\x21-\x7e]+$/.test(value)) throw new Error('the metrics token must be at least 16 printable characters without spaces');
  return value;
};

/** The embeddings endpoint of memory-store search, when AGENTRY_EMBEDDINGS_URL is set. */
const embeddingsFrom = (env: NodeJS.ProcessEnv): ServerConfig['embeddings'] => {
  const url = env.AGENTRY_EMBEDDINGS_URL;
  if (!url) return undefined;
  if (!/^https?:\/\/[^/]+/.test(url)) throw new Error(`AGENTRY_EMBEDDINGS_URL must be an http(s) URL (got '${url}')`);
  return { url: url.replace(/\/+$/, ''), model: env.AGENTRY_EMBEDDINGS_MODEL || 'text-embedding-3-small', apiKey: env.AGENTRY_EMBEDDINGS_API_KEY || undefined };
};
