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
  adminToken?: string;
  /** When set, `/metrics` answers only a Bearer of this value (AGENTRY_METRICS_TOKEN). */
  metricsToken?: string;
  publicUrl?: string;
  logLevel: string;
  /** Where log lines go instead of stdout (tests). */
  logStream?: NodeJS.WritableStream;
  /** Serve reads only and refuse every write, on every door. */
  readOnly: boolean;
  /** The visibility new scopes (and so their new packages) start with (AGENTRY_DEFAULT_VISIBILITY; default public). */
  defaultVisibility: Visibility;
  /** Every read needs a token, on every door but /healthz (AGENTRY_AUTH_REQUIRED_FOR_READS). */
  authRequiredForReads: boolean;
  /** The OCI registry agentspaces are published to by default (AGENTRY_OCI_REGISTRY_DEFAULT); this server's /v2/ when unset. */
  ociRegistryDefault?: string;
  /** Where secret values are kept (AGENTRY_SECRET_BACKEND and friends). */
  secrets: SecretsConfig;
  /** The environment the server started with (the env secret backend reads it). */
  env: NodeJS.ProcessEnv;
  /** The only server-side folder skills may be validated from (`POST /api/v1beta/skills/validate` with a path). */
  skillsRoot?: string;
  /** The scope PraisonAI's unscoped recipe names map onto (AGENTRY_RECIPE_SCOPE). */
  recipeScope: string;
  /** Exceptions to the egress policy's refused ranges (AGENTRY_EGRESS_ALLOW / --egress-allow): hosts, host:port, IPs, CIDRs, `*`. */
  egressAllow: string[];
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
  if (raw === 'off' && anySet) throw new Error("--rate-limits off contradicts a per-limit setting (--rate-limit-*); use --rate-limits custom or agentx");
  const base = presetRules(raw ?? (anySet ? 'custom' : 'off'));
  return {
    anonymous: ruleFrom(s.label('rate-limit-anonymous'), values.anonymous, base.anonymous, 60_000),
    user: ruleFrom(s.label('rate-limit-user'), values.user, base.user, 60_000),
    publish: ruleFrom(s.label('rate-limit-publish'), values.publish, base.publish, 3_600_000),
  };
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
    adminToken: s.value('admin-token') || undefined,
    metricsToken: metricsTokenFrom(s.value('metrics-token') || undefined),
    publicUrl: publicUrl?.replace(/\/+$/, ''),
    logLevel: s.value('log-level') ?? 'info',
    readOnly: boolFrom(s.label('read-only'), s.value('read-only')),
    defaultVisibility: visibilityFrom(s.label('default-visibility', s.get('default-visibility')?.source === 'flag' ? '--default-visibility' : undefined), s.value('default-visibility')),
    authRequiredForReads: boolFrom(s.label('auth-required-for-reads'), s.value('auth-required-for-reads')),
    secrets: resolveSecretsConfig(s),
    ociRegistryDefault: s.value('oci-registry-default') || undefined,
    env,
    skillsRoot: skillsRoot ? resolve(skillsRoot) : undefined,
    recipeScope: (s.value('recipe-scope') || 'recipes').replace(/^@/, '').toLowerCase(),
    embeddings: embeddingsFrom(s),
    egressAllow: egressAllowFrom(s.value('egress-allow')),
    unsafeLocalTools: boolFrom(s.label('unsafe-local-tools'), s.value('unsafe-local-tools')),
    bwrapPath: bwrap ? resolve(bwrap) : undefined,
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

/** `a,b:443,10.0.0.0/8`: checked here so a typo stops the server at start, not at the first call. */
const egressAllowFrom = (value: string | undefined): string[] => {
  const entries = listFrom(value);
  new AllowList(entries);
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
