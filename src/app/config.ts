import type { SupervisorTimings } from '../core/workloads/supervisor.js';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { parseBlobStoreUrl } from '../storage/blobs/blob-store-url.js';
import { resolveSecretsConfig, type SecretsConfig } from './secrets-config.js';
import { SettingSources, settingNamed, type FileSettings, type ServeFlags, type SettingName } from './settings.js';
import { AllowList } from '../adapters/egress/index.js';
import type { OAuthProviderConfig } from '../adapters/oauth/http-oauth-client.js';
import { VISIBILITIES, isVisibility, type Visibility } from '../core/access/visibility.js';
import { RATE_LIMIT_PRESETS, isRateLimitPreset, parseRateLimitRule, presetRules, type RateLimitRule, type RateLimitRules } from '../core/rate-limits/rules.js';

export type { ServeFlags } from './settings.js';

/** Everything the server is configured with; see settings.ts for where each value comes from. */
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
  /** How long a shared workload (an agent.yaml package's MCP server) nobody uses keeps running (default 60 s; tests shorten it; no flag). */
  sharedWorkloadIdleMs?: number;
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
  /** MCP namespaces no upstream may add to (AGENTRY_MCP_PINNED_NAMESPACES / --mcp-pinned-namespaces), lower case. */
  mcpPinnedNamespaces: string[];
  /** Run the session runtime's workers in this process (default true; `--no-runtime` / AGENTRY_RUNTIME=false). */
  runtime: boolean;
  /** The runtime's timing (AGENTRY_RUNTIME_LEASE_MS, AGENTRY_RUNTIME_RETRY_BASE_MS, AGENTRY_SSE_HEARTBEAT_MS). */
  runtimeTiming: { leaseMs: number; retryBaseMs: number; heartbeatMs: number };
  /** Webhook deliveries' retries (AGENTRY_WEBHOOK_RETRY_BASE_MS, AGENTRY_WEBHOOK_MAX_ATTEMPTS). */
  webhooks: { retryBaseMs: number; maxAttempts: number };
  /** Sessions one process runs at once (AGENTRY_MAX_RUNNING_SESSIONS / --max-running-sessions; default 256). */
  maxRunningSessions: number;
  /** Run agents' bash on the host, without isolation, when no sandbox works (AGENTRY_UNSAFE_LOCAL_TOOLS / --unsafe-local-tools). */
  unsafeLocalTools: boolean;
  /** The bubblewrap binary (AGENTRY_BWRAP); default: /usr/bin/bwrap, /usr/local/bin/bwrap or /bin/bwrap. */
  bwrapPath?: string;
  /** The npm registry workload packages are installed from (AGENTRY_WORKLOAD_NPM_REGISTRY / --workload-npm-registry); npm's configured one when unset. */
  workloadNpmRegistry?: string;
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

const MB = 1024 * 1024;

const intFrom = (name: string, value: string | number | undefined, fallback: number, min: number, max: number): number => {
  if (value === undefined || value === '') return fallback;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be a whole number from ${min} to ${max} (got '${value}')`);
  return n;
};

const boolFrom = (name: string, value: string | undefined, fallback = false): boolean => {
  if (value === undefined || value === '') return fallback;
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

const urlFrom = (s: SettingSources, name: SettingName): string => {
  const v = s.value(name) || settingNamed(name)?.default || '';
  if (!/^https?:\/\/[^/]+/.test(v)) throw new Error(`${s.label(name)} must be an http(s) URL (got '${v}')`);
  return v;
};

/** The OAuth settings: GitHub's endpoints unless told otherwise, so any OAuth2/OIDC provider fits. */
const oauthFrom = (s: SettingSources): ServerConfig['oauth'] => {
  const clientId = s.value('oauth-client-id');
  if (!clientId) return undefined;
  const clientSecret = s.value('oauth-client-secret');
  if (!clientSecret) throw new Error(`${s.label('oauth-client-secret')} must be set with ${s.label('oauth-client-id')}`);
  const days = s.value('oauth-token-days');
  return {
    name: s.value('oauth-provider') || 'github',
    clientId,
    clientSecret,
    authorizeUrl: urlFrom(s, 'oauth-authorize-url'),
    tokenUrl: urlFrom(s, 'oauth-token-url'),
    userinfoUrl: urlFrom(s, 'oauth-userinfo-url'),
    scopes: s.value('oauth-scopes') ?? '',
    redirectUris: listFrom(s.value('oauth-redirect-uris')),
    tokenDays: days === 'never' ? null : intFrom(s.label('oauth-token-days'), days, 90, 1, 3650),
  };
};

const ruleFrom = (name: string, value: string | undefined, fallback: RateLimitRule | null, defaultWindowMs: number): RateLimitRule | null =>
  value === undefined || value === '' ? fallback : parseRateLimitRule(name, value, fallback?.windowMs ?? defaultWindowMs);

/**
 * The rate limits: a preset (`--rate-limits` / AGENTRY_RATE_LIMITS: `off`, the default, `agentx` or
 * `custom`), then the per-limit settings over it. A per-limit setting without a preset means
 * `custom`; with an explicit `off` it contradicts it and is refused.
 */
const rateLimitsFrom = (s: SettingSources): RateLimitRules => {
  const values = {
    anonymous: s.value('rate-limit-anonymous') || undefined,
    user: s.value('rate-limit-user') || undefined,
    publish: s.value('rate-limit-publish') || undefined,
  };
  const anySet = Object.values(values).some((v) => v !== undefined);
  const raw = s.value('rate-limits')?.trim().toLowerCase();
  if (raw !== undefined && !isRateLimitPreset(raw)) {
    throw new Error(`rate limits must be one of ${RATE_LIMIT_PRESETS.join(', ')} (got '${raw}')`);
  }
  if (raw === 'off' && anySet) throw new Error('--rate-limits off contradicts a per-limit setting (--rate-limit-*); use --rate-limits custom or agentx');
  const base = presetRules(raw ?? (anySet ? 'custom' : 'off'));
  return {
    anonymous: ruleFrom(s.label('rate-limit-anonymous'), values.anonymous, base.anonymous, 60_000),
    user: ruleFrom(s.label('rate-limit-user'), values.user, base.user, 60_000),
    publish: ruleFrom(s.label('rate-limit-publish'), values.publish, base.publish, 3_600_000),
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
 * Resolves the server configuration from flags, the environment (AGENTRY_<FLAG>) and a config file
 * (`--config`, keys spelled as the flags), in that order of precedence; every setting is declared in
 * settings.ts.
 */
export const resolveConfig = (flags: ServeFlags, env: NodeJS.ProcessEnv = process.env, file?: FileSettings): ServerConfig => {
  const s = new SettingSources(flags, env, file);
  const blobStore = s.value('blob-store') || undefined;
  // Refuse a malformed blob store (or one carrying credentials) before anything starts.
  parseBlobStoreUrl(blobStore, '');
  const publicUrl = s.value('public-url') || undefined;
  const npmRegistry = s.value('workload-npm-registry') || undefined;
  if (npmRegistry !== undefined && !/^https?:\/\/[^/@?#]+(\/[^?#]*)?$/.test(npmRegistry))
    throw new Error(`${s.label('workload-npm-registry', 'npm registry')} must be an http(s) URL without credentials or query (got '${npmRegistry}')`);
  if (publicUrl && !/^https?:\/\/[^/]+/.test(publicUrl)) throw new Error(`${s.label('public-url', 'public URL')} must be an http(s) URL (got '${publicUrl}')`);
  const skillsRoot = s.value('skills-root');
  const bwrap = s.value('bwrap');
  return {
    host: s.value('host') ?? '127.0.0.1',
    port: intFrom(s.label('port', 'port'), s.value('port'), 8080, 0, 65535),
    dataDir: resolve(s.value('data-dir') ?? './data'),
    databaseUrl: s.value('database-url') || undefined,
    databaseSchema: s.value('database-schema') || undefined,
    blobStore,
    blobRedirectSeconds: blobRedirectsFrom(s.named('blob-redirects'), s.value('blob-redirects'), blobStore),
    adminToken: s.value('admin-token') || undefined,
    metricsToken: metricsTokenFrom(s.value('metrics-token') || undefined),
    publicUrl: publicUrl?.replace(/\/+$/, ''),
    logLevel: s.value('log-level') ?? 'info',
    readOnly: boolFrom(s.label('read-only'), s.value('read-only')),
    unsafeLocalWorkloads: boolFrom(s.label('unsafe-local-workloads'), s.value('unsafe-local-workloads')),
    defaultVisibility: visibilityFrom(s.label('default-visibility', s.get('default-visibility')?.source === 'flag' ? '--default-visibility' : undefined), s.value('default-visibility')),
    authRequiredForReads: boolFrom(s.label('auth-required-for-reads'), s.value('auth-required-for-reads')),
    secrets: resolveSecretsConfig(s),
    ociRegistryDefault: s.value('oci-registry-default') || undefined,
    ociDefaultScope: ociDefaultScopeFrom(s.named('oci-default-scope'), s.value('oci-default-scope')),
    env,
    skillsRoot: skillsRoot ? resolve(skillsRoot) : undefined,
    clientsHome: resolve(s.value('clients-home') || homedir()),
    recipeScope: (s.value('recipe-scope') || 'recipes').replace(/^@/, '').toLowerCase(),
    embeddings: embeddingsFrom(s),
    trustProxy: trustProxyFrom(s.named('trust-proxy'), s.value('trust-proxy')),
    egressAllow: egressAllowFrom(s.value('egress-allow')),
    mcpPinnedNamespaces: pinnedNamespacesFrom(s.label('mcp-pinned-namespaces'), s.value('mcp-pinned-namespaces')),
    runtime: boolFrom(s.named('runtime'), s.value('runtime'), true),
    runtimeTiming: {
      leaseMs: intFrom(s.label('runtime-lease-ms'), s.value('runtime-lease-ms'), 30_000, 500, 3_600_000),
      retryBaseMs: intFrom(s.label('runtime-retry-base-ms'), s.value('runtime-retry-base-ms'), 1_000, 0, 600_000),
      heartbeatMs: intFrom(s.label('sse-heartbeat-ms'), s.value('sse-heartbeat-ms'), 15_000, 100, 600_000),
    },
    webhooks: {
      retryBaseMs: intFrom(s.label('webhook-retry-base-ms'), s.value('webhook-retry-base-ms'), 5_000, 10, 3_600_000),
      maxAttempts: intFrom(s.label('webhook-max-attempts'), s.value('webhook-max-attempts'), 8, 1, 50),
    },
    maxRunningSessions: intFrom(s.label('max-running-sessions'), s.value('max-running-sessions'), 256, 1, 100_000),
    unsafeLocalTools: boolFrom(s.label('unsafe-local-tools'), s.value('unsafe-local-tools')),
    bwrapPath: bwrap ? resolve(bwrap) : undefined,
    workloadNpmRegistry: npmRegistry,
    limits: {
      maxBodyBytes: 1 * MB,
      maxTarballBytes: intFrom(s.label('max-tarball-mb'), s.value('max-tarball-mb'), 50, 1, 10_000) * MB,
      maxUnpackedBytes: intFrom(s.label('max-unpacked-mb'), s.value('max-unpacked-mb'), 200, 1, 100_000) * MB,
      maxFiles: intFrom(s.label('max-files'), s.value('max-files'), 10_000, 1, 1_000_000),
      maxFileBytes: intFrom(s.label('max-file-mb'), s.value('max-file-mb'), 100, 1, 100_000) * MB,
    },
    rateLimits: rateLimitsFrom(s),
    redisUrl: s.value('redis-url') || undefined,
    redisKeyPrefix: s.value('redis-prefix') || 'agentry:',
    oauth: oauthFrom(s),
  };
};

/** A comma-separated list, blanks dropped. */
const listFrom = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

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
  const entries = listFrom(value);
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
  const entries = listFrom(value);
  new AllowList(entries);
  return entries;
};

/** `io.github.acme,com.example`: reverse-DNS namespaces, checked here so a typo stops the server at start. */
const pinnedNamespacesFrom = (label: string, value: string | undefined): string[] => {
  const entries = listFrom(value).map((e) => e.toLowerCase());
  const bad = entries.find((e) => !/^[a-z0-9][a-z0-9.-]{0,199}$/.test(e) || e.endsWith('.'));
  if (bad !== undefined) throw new Error(`${label} takes MCP server namespaces (like io.github.acme), comma-separated (got '${bad}')`);
  return entries;
};

/** A metrics token: long enough not to be guessed, one line (it travels in a header). */
const metricsTokenFrom = (value: string | undefined): string | undefined => {
  if (value === undefined || value === '') return undefined;
  if (value.length < 16 || !/^[\x21-\x7e]+$/.test(value)) throw new Error('the metrics token must be at least 16 printable characters without spaces');
  return value;
};

/** The embeddings endpoint of memory-store search, when its URL is set. */
const embeddingsFrom = (s: SettingSources): ServerConfig['embeddings'] => {
  const url = s.value('embeddings-url');
  if (!url) return undefined;
  if (!/^https?:\/\/[^/]+/.test(url)) throw new Error(`${s.label('embeddings-url')} must be an http(s) URL (got '${url}')`);
  return { url: url.replace(/\/+$/, ''), model: s.value('embeddings-model') || 'text-embedding-3-small', apiKey: s.value('embeddings-api-key') || undefined };
};
