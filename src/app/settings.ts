/**
 * Every setting of `agentry serve`, declared once. Each entry yields its long flag (`--<name>`), its
 * environment variable (`AGENTRY_<NAME>`), its key in a config file (`<name>:`, spelled as the flag) and
 * its row of the README's configuration table (`npm run docs:settings`). Precedence, highest first:
 * flag, environment, config file, default. `resolveConfig` (config.ts) turns the values into a ServerConfig.
 */

/** The config file `agentry serve` reads when no `--config` is given and it exists. */
export const DEFAULT_SETTINGS_FILE = 'agentry.yaml';

export type SettingType = 'string' | 'int' | 'boolean' | 'list';

export interface SettingSpec {
  /** The long flag without its dashes; also the config-file key. */
  readonly name: string;
  readonly type: SettingType;
  /** The flag's argument in `--help` (`<url>`); booleans take none. */
  readonly arg?: string;
  /** The value when no source gives one. */
  readonly default?: string;
  /** What the README says of the default when it is not a plain value ("generated"); Markdown. */
  readonly defaultDoc?: string;
  /** One line for `agentry serve --help`. */
  readonly help: string;
  /** The README's "meaning" column; `help` when absent. Markdown. */
  readonly doc?: string;
  /** A credential: never echoed, and a config file holding one should not be world-readable. */
  readonly secret?: boolean;
  /** An empty environment value is a value (not "unset"). */
  readonly emptyIsValue?: boolean;
  /**
   * A boolean that is on unless turned off: its flag is `--no-<name>`; the environment and the config
   * file say `false`.
   */
  readonly negated?: boolean;
}

export const SETTINGS = [
  { name: 'host', type: 'string', arg: '<host>', default: '127.0.0.1', help: 'address to bind' },
  { name: 'port', type: 'int', arg: '<port>', default: '8080', help: 'port, 0 for a free one', doc: 'port (0 picks a free one)' },
  { name: 'data-dir', type: 'string', arg: '<dir>', default: './data', help: 'SQLite file and blob folder', doc: 'SQLite file (`agentry.db`) and blob folder (`blobs/`)' },
  {
    name: 'database-url',
    type: 'string',
    arg: '<url>',
    help: 'postgres://… to keep metadata in PostgreSQL',
    doc: '`postgres://…` to keep metadata in PostgreSQL instead of SQLite',
    secret: true,
  },
  { name: 'database-schema', type: 'string', arg: '<schema>', defaultDoc: "connection's default", help: "PostgreSQL schema for Agentry's tables" },
  {
    name: 'blob-store',
    type: 'string',
    arg: '<url>',
    defaultDoc: '`<data dir>/blobs`',
    help: 's3://bucket/prefix?endpoint=…&region=…&forcePathStyle=true to keep blobs in S3-compatible storage, or file:///path (S3 credentials from the AWS variables and provider chain, never the URL)',
    doc: 'where blobs live: `s3://bucket/prefix?…` or `file:///path` (see Blob storage)',
  },
  {
    name: 'blob-redirects',
    type: 'string',
    arg: '<off|on|lifetime>',
    default: 'off',
    help: 'answer blob downloads (OCI blob GET, /api/v1/blobs) with 307 to a presigned S3 URL after the access check: off, on (5 min) or how long a URL lasts, e.g. 90s, 10m, 1h; needs an s3:// blob store that clients can reach',
    doc: '`on` (5 min) or a lifetime (`90s`, `10m`, `1h`): blob downloads answer 307 to a presigned URL of the S3 store after the access check (see Blob storage)',
  },
  {
    name: 'admin-token',
    type: 'string',
    arg: '<token>',
    defaultDoc: 'generated on first start',
    help: "the admin's token",
    doc: "the admin's token (`agentry_` + 43 base64url characters)",
    secret: true,
  },
  { name: 'public-url', type: 'string', arg: '<url>', defaultDoc: 'from the request', help: 'base URL used in links', doc: 'base URL used in `tarball_url` and other links' },
  { name: 'log-level', type: 'string', arg: '<level>', default: 'info', help: 'log level, silent … trace', doc: 'pino level (`silent` … `trace`)' },
  { name: 'read-only', type: 'boolean', default: 'false', help: 'serve reads only and refuse every write', doc: 'serve reads only; every write, on every door, is refused with 403' },
  {
    name: 'default-visibility',
    type: 'string',
    arg: '<visibility>',
    default: 'public',
    help: 'public, internal or private: what new scopes, and so their new packages, start with',
    doc: 'the visibility new scopes (new users, orgs, registered namespaces), and so their new packages, start with: `public`, `internal` or `private` (see Visibility)',
  },
  {
    name: 'auth-required-for-reads',
    type: 'boolean',
    default: 'false',
    help: 'every read needs a token; only /healthz stays open',
    doc: 'every read needs a token: 401 without one, on every door but `/healthz`, `/metrics`, the OAuth sign-in and `/v2/` (which challenges)',
  },
  {
    name: 'recipe-scope',
    type: 'string',
    arg: '<scope>',
    default: 'recipes',
    help: 'the scope PraisonAI recipe names (/v1/recipes) map onto',
    doc: "the scope PraisonAI's unscoped recipe names (`/v1/recipes`) map onto",
  },
  { name: 'max-tarball-mb', type: 'int', arg: '<mb>', default: '50', help: 'largest tarball accepted' },
  {
    name: 'max-unpacked-mb',
    type: 'int',
    arg: '<mb>',
    default: '200',
    help: 'largest expanded size of a tarball (gzip-bomb guard)',
    doc: 'largest expanded size of a tarball: inflation streams and stops with 413 the moment it passes this (gzip-bomb guard); setuid/setgid/sticky bits are stripped from stored entries (see docs/native-api.md, "Publishing safely")',
  },
  { name: 'max-files', type: 'int', arg: '<n>', default: '10000', help: 'most files in a tarball' },
  {
    name: 'max-file-mb',
    type: 'int',
    arg: '<mb>',
    default: '100',
    help: 'largest upload to the managed-agents files resource (/v1/files)',
    doc: 'largest upload to the managed-agents files resource (`/v1/files`)',
  },
  {
    name: 'oci-registry-default',
    type: 'string',
    arg: '<registry>',
    defaultDoc: "this server's `/v2/`",
    help: 'the OCI registry agentspaces are published to and pulled from when none is named',
  },
  {
    name: 'oci-default-scope',
    type: 'string',
    arg: '<scope>',
    help: 'the scope single-level OCI repository names (/v2/app/…) belong to, as <scope>/app (default none: such names are refused with NAME_INVALID)',
    doc: 'the scope single-level OCI repository names belong to (`app` → `<scope>/app`); unset, they are `NAME_INVALID`',
  },
  {
    name: 'secret-backend',
    type: 'string',
    arg: '<backend>',
    default: 'builtin',
    help: 'where secret values live: builtin, env or vault',
    doc: 'where secret values live: `builtin`, `env` or `vault` (see Secrets)',
  },
  { name: 'secret-key', type: 'string', arg: '<keys>', defaultDoc: '`<data dir>/secret.key`', help: "the built-in backend's root key(s)", secret: true },
  {
    name: 'secret-env-prefix',
    type: 'string',
    arg: '<prefix>',
    default: 'SECRET_',
    help: 'the env backend: prefix of the variables secrets are read from',
    doc: 'the `env` backend: prefix of the variables secrets are read from',
    emptyIsValue: true,
  },
  {
    name: 'vault-addr',
    type: 'string',
    arg: '<url>',
    help: "the vault backend: Vault's address, e.g. https://vault.example.com:8200",
    doc: "the `vault` backend: Vault's address, e.g. `https://vault.example.com:8200`",
  },
  { name: 'vault-token', type: 'string', arg: '<token>', help: 'the vault backend: its token', doc: 'the `vault` backend: its token', secret: true },
  { name: 'vault-mount', type: 'string', arg: '<mount>', default: 'secret', help: 'the vault backend: mount of the KV v2 engine', doc: 'the `vault` backend: mount of the KV v2 engine' },
  {
    name: 'vault-path-prefix',
    type: 'string',
    arg: '<prefix>',
    default: 'agentry',
    help: 'the vault backend: path under the mount',
    doc: 'the `vault` backend: path under the mount',
    emptyIsValue: true,
  },
  { name: 'vault-namespace', type: 'string', arg: '<namespace>', help: 'the vault backend: Vault Enterprise namespace', doc: 'the `vault` backend: Vault Enterprise namespace' },
  {
    name: 'embeddings-url',
    type: 'string',
    arg: '<url>',
    help: 'an OpenAI-compatible embeddings endpoint (…/v1); memory-store search then ranks by embeddings, and package search takes mode=semantic|hybrid',
    doc: 'an OpenAI-compatible embeddings endpoint (`…/v1`); memory-store search then ranks by embeddings, and package search takes `mode=semantic\\|hybrid` (see Semantic search)',
  },
  {
    name: 'embeddings-model',
    type: 'string',
    arg: '<model>',
    default: 'text-embedding-3-small',
    help: 'the model asked for (changing it re-embeds every package at the next start)',
  },
  { name: 'embeddings-api-key', type: 'string', arg: '<key>', help: 'sent as Authorization: Bearer to that endpoint', doc: 'sent as `Authorization: Bearer` to that endpoint', secret: true },
  {
    name: 'runtime',
    type: 'boolean',
    negated: true,
    default: 'true',
    help: 'run no session workers in this process: sessions run in `agentry runtime` processes on the same database',
    doc: 'run session workers in this process (`false`: only `agentry runtime` processes run sessions)',
  },
  {
    name: 'runtime-lease-ms',
    type: 'int',
    arg: '<ms>',
    default: '30000',
    help: "how long a worker's claim on a running session lasts without renewal",
    doc: "how long a worker's claim on a running session (or an eval run, a mirror sync job) lasts without renewal (a dead worker's work is taken again after it)",
  },
  {
    name: 'max-running-sessions',
    type: 'int',
    arg: '<n>',
    default: '256',
    help: 'sessions one process runs at once (more wait, running, for a free place)',
    doc: 'sessions one process runs at once; more stay `running` and wait for a free place (in this process or another on the same database). Each one waiting on its model holds a connection to the provider and its conversation in memory (what limits it: memory, the provider rate limits and the database connections)',
  },
  {
    name: 'runtime-retry-base-ms',
    type: 'int',
    arg: '<ms>',
    default: '1000',
    help: 'first wait before retrying a failed model request when the provider gives none (doubling)',
  },
  {
    name: 'webhook-retry-base-ms',
    type: 'int',
    arg: '<ms>',
    default: '5000',
    help: 'first wait before retrying a failed webhook delivery (doubling each attempt, at most an hour)',
  },
  {
    name: 'webhook-max-attempts',
    type: 'int',
    arg: '<n>',
    default: '8',
    help: 'attempts of a webhook delivery before it is given up as failed',
  },
  {
    name: 'sse-heartbeat-ms',
    type: 'int',
    arg: '<ms>',
    default: '15000',
    help: 'event: ping interval on quiet session streams (and span.outcome_evaluation_ongoing while an outcome is graded)',
    doc: '`event: ping` interval on quiet session streams, and `span.outcome_evaluation_ongoing` interval while an outcome is graded',
  },
  {
    name: 'rate-limits',
    type: 'string',
    arg: '<preset>',
    defaultDoc: '`off`',
    help: "off (no limit), agentx (agentx's hosted values: 60/min per IP, 120/min per user, 10 publishes/hour) or custom (only the --rate-limit-* given)",
    doc: "preset: `off` (no request or publish limit), `agentx` (agentx's hosted values: 60/min per IP, 120/min per account, 10 publishes/hour per account) or `custom` (only the per-limit settings below). A per-limit setting overrides the preset; alone it means `custom`",
  },
  {
    name: 'rate-limit-anonymous',
    type: 'string',
    arg: '<rule>',
    defaultDoc: "preset's",
    help: "requests per IP without a token, e.g. 60/min, or 'off'; overrides the preset",
    doc: 'requests per client IP without a (valid) token; `N/<s\\|min\\|hour\\|day>`, `N/15m`, or `off`',
  },
  { name: 'rate-limit-user', type: 'string', arg: '<rule>', defaultDoc: "preset's", help: 'requests per signed-in user, e.g. 120/min; overrides the preset', doc: 'requests per signed-in account' },
  {
    name: 'rate-limit-publish',
    type: 'string',
    arg: '<rule>',
    defaultDoc: "preset's",
    help: 'publishes per user, e.g. 10/hour; overrides the preset',
    doc: 'publishes per account, from any door (on top of the request budget)',
  },
  {
    name: 'redis-url',
    type: 'string',
    arg: '<url>',
    help: 'redis://… to share rate-limit counters between server processes',
    doc: '`redis://…`: keep rate-limit counters in Redis, so every server process on it shares one budget (else in memory)',
    secret: true,
  },
  { name: 'redis-prefix', type: 'string', arg: '<prefix>', default: 'agentry:', help: 'prefix of every Redis key' },
  {
    name: 'metrics-token',
    type: 'string',
    arg: '<token>',
    defaultDoc: 'none (open)',
    help: 'require this Bearer token on /metrics, 16+ characters',
    doc: 'require `Authorization: Bearer <token>` on `/metrics` (16+ printable characters, compared in constant time)',
    secret: true,
  },
  {
    name: 'oauth-client-id',
    type: 'string',
    arg: '<id>',
    help: 'OAuth2 client id: turns on sign-in (POST /api/v1/auth/github, agentry login --github)',
    doc: 'OAuth2 client id: turns on sign-in (`POST /api/v1/auth/github`, `agentry login --github`)',
  },
  { name: 'oauth-client-secret', type: 'string', arg: '<secret>', help: 'its client secret (required with the id)', secret: true },
  {
    name: 'oauth-authorize-url',
    type: 'string',
    arg: '<url>',
    default: 'https://github.com/login/oauth/authorize',
    help: "the provider's authorization endpoint (any OAuth2/OIDC provider)",
  },
  { name: 'oauth-token-url', type: 'string', arg: '<url>', default: 'https://github.com/login/oauth/access_token', help: 'its token endpoint' },
  {
    name: 'oauth-userinfo-url',
    type: 'string',
    arg: '<url>',
    default: 'https://api.github.com/user',
    help: 'its user endpoint (GitHub id/login/name/avatar_url or OIDC sub/preferred_username/name/picture)',
    doc: 'its user endpoint (GitHub `id`/`login`/`name`/`avatar_url` or OIDC `sub`/`preferred_username`/`name`/`picture`)',
  },
  {
    name: 'oauth-scopes',
    type: 'string',
    arg: '<scopes>',
    default: 'read:user user:email',
    help: 'scopes asked for (openid profile email for OIDC)',
    doc: 'scopes asked for (`openid profile email` for OIDC)',
    emptyIsValue: true,
  },
  { name: 'oauth-provider', type: 'string', arg: '<name>', default: 'github', help: 'name the linked identities are recorded under' },
  {
    name: 'oauth-redirect-uris',
    type: 'list',
    arg: '<uris>',
    help: 'comma-separated redirect URIs allowed besides loopback ones and <public URL>/api/v1/auth/callback',
    doc: 'comma-separated redirect URIs allowed besides loopback ones (`http://localhost:<port>/…`) and `<public URL>/api/v1/auth/callback`',
  },
  {
    name: 'oauth-token-days',
    type: 'string',
    arg: '<days>',
    default: '90',
    help: "lifetime of the token a sign-in issues ('never': none)",
    doc: 'lifetime of the token a sign-in issues (`never`: none)',
  },
  {
    name: 'skills-root',
    type: 'string',
    arg: '<dir>',
    help: 'the only server folder POST /api/v1beta/skills/validate may read a skill from by path; unset, paths are refused',
    doc: 'the only server folder `POST /api/v1beta/skills/validate` may read a skill from by `path`; unset, paths are refused',
  },
  {
    name: 'clients-home',
    type: 'string',
    arg: '<dir>',
    defaultDoc: "the server account's home",
    help: 'the home directory whose MCP client settings files (~/.cursor/mcp.json, …) and skills folders /api/v1beta/clients and /api/v1beta/skills edit',
    doc: 'the home directory whose MCP client settings files (`~/.cursor/mcp.json`, …) and skills folders `/api/v1beta/clients` and `/api/v1beta/skills` edit',
  },
  {
    name: 'trust-proxy',
    type: 'list',
    arg: '<list>',
    help: 'load balancers whose X-Forwarded-For/-Proto/-Host name the client: IPs, CIDRs, or loopback, linklocal, uniquelocal, comma-separated (default none: the peer is the client)',
    doc: 'the load balancers in front of the server (IPs, CIDRs, `loopback`, `linklocal`, `uniquelocal`, comma-separated): their `X-Forwarded-For`/`-Proto`/`-Host` name the client (per-IP rate limits, audit); unset, the peer is the client (see [docs/deploy.md](docs/deploy.md))',
  },
  {
    name: 'egress-allow',
    type: 'list',
    arg: '<list>',
    help: "addresses the server may call besides public ones: hosts, host:port, IPs, CIDRs, or '*', comma-separated (default none: loopback, private, link-local and metadata addresses are refused)",
    doc: 'addresses the server may call besides public ones: hosts, `host:port`, IPs, CIDRs, `*.domain`, or `*`, comma-separated (see Egress)',
  },
  {
    name: 'mcp-pinned-namespaces',
    type: 'list',
    arg: '<list>',
    help: 'MCP server namespaces (and their sub-namespaces) served only from this registry: no MCP upstream may add servers to them, comma-separated (default none)',
    doc: 'MCP server namespaces pinned to this registry, comma-separated (`com.acme` also pins `com.acme.tools`): no MCP upstream mirror may show or add servers in them, whatever the upstream lists (see [docs/mirrors.md](docs/mirrors.md))',
  },
  {
    name: 'unsafe-local-tools',
    type: 'boolean',
    default: 'false',
    help: "when no sandbox works (bubblewrap missing), run agents' bash tool directly on this host as the server's user, with no isolation of files, processes or network; trusted agents only (default: bash is refused)",
    doc: "when no sandbox works (bubblewrap missing or user namespaces forbidden), run agents' `bash` tool directly on the host as the server's user, with no isolation of files, processes or network; without it `bash` is refused (the server says so at start). See docs/agent-tools.md",
  },
  {
    name: 'unsafe-local-workloads',
    type: 'boolean',
    default: 'false',
    help: 'run local MCP workloads without a sandbox when bubblewrap is missing: no file or network isolation (default: refuse them)',
    doc: 'run local MCP workloads without a sandbox when bubblewrap is missing (no file or network isolation); without it they are refused',
  },
  {
    name: 'workload-npm-registry',
    type: 'string',
    arg: '<url>',
    defaultDoc: "npm's configured registry (`npm config get registry`), else `https://registry.npmjs.org/`",
    help: "the npm registry MCP workloads' npm packages are installed from; the install reaches only this host, through the egress policy (default: npm's configured registry)",
    doc: "the npm registry MCP workloads' npm packages are installed from. `npm install` runs through the egress policy (a local egress proxy) and may reach only this registry's host and port; a private address also needs `--egress-allow`",
  },
  {
    name: 'bwrap',
    type: 'string',
    arg: '<path>',
    defaultDoc: '`/usr/bin/bwrap` (or `/usr/local/bin`, `/bin`)',
    help: 'the bubblewrap binary the sandbox uses',
  },
] as const satisfies readonly SettingSpec[];

type Setting = (typeof SETTINGS)[number];
export type SettingName = Setting['name'];

type Camel<S extends string> = S extends `${infer A}-${infer B}` ? `${A}${Capitalize<Camel<B>>}` : S;

/** The flags of `agentry serve` as commander hands them over (camelCase of the long flag). */
export type ServeFlags = {
  [S in Setting as Camel<S['name']>]?: S['type'] extends 'boolean' ? boolean : S['type'] extends 'int' ? number | string : string;
};

/** `data-dir` → `dataDir`: commander's attribute name of a long flag. */
export const flagKey = (name: string): string => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** `data-dir` → `AGENTRY_DATA_DIR`. */
export const envName = (name: string): string => `AGENTRY_${name.toUpperCase().replace(/-/g, '_')}`;

export const settingNamed = (name: string): SettingSpec | undefined => (SETTINGS as readonly SettingSpec[]).find((s) => s.name === name);

/** A setting's value as given, and where from (for messages that say which one to fix). */
export interface SettingValue {
  value: string;
  source: 'flag' | 'env' | 'file';
}

/** The values a config file gave, by setting name, already checked against each setting's type. */
export interface FileSettings {
  path: string;
  values: ReadonlyMap<string, string>;
}

/**
 * One lookup over the three sources, flag > environment > file. Values are strings (a list is
 * comma-separated, a boolean `true`/`false`); an empty environment value counts as unset unless the
 * setting says otherwise.
 */
export class SettingSources {
  constructor(
    private readonly flags: Readonly<Record<string, string | number | boolean | undefined>>,
    private readonly env: NodeJS.ProcessEnv,
    private readonly file?: FileSettings,
  ) {}

  get(name: SettingName): SettingValue | undefined {
    const spec = settingNamed(name);
    const flag = this.flags[flagKey(name)];
    if (flag !== undefined) return { value: String(flag), source: 'flag' };
    const env = this.env[envName(name)];
    if (env !== undefined && (env !== '' || spec?.emptyIsValue)) return { value: env, source: 'env' };
    const fromFile = this.file?.values.get(name);
    if (fromFile !== undefined) return { value: fromFile, source: 'file' };
    return undefined;
  }

  /** The value from the first source that gives one, else the setting's default. */
  value(name: SettingName): string | undefined {
    return this.get(name)?.value ?? settingNamed(name)?.default;
  }

  /**
   * How a message names the setting: `usual` (the flag or variable messages have always named) unless
   * the value came from a config file, which is then named with the key.
   */
  label(name: SettingName, usual: string = envName(name)): string {
    const got = this.get(name);
    return got?.source === 'file' && this.file ? `'${name}' in ${this.file.path}` : usual;
  }

  /** How a message names the setting by where its value came from: the flag, the variable or the file's key. */
  named(name: SettingName): string {
    const got = this.get(name);
    if (got?.source === 'flag') return `--${settingNamed(name)?.negated ? 'no-' : ''}${name}`;
    return this.label(name);
  }
}

const README_BEGIN = '<!-- settings:begin — generated from src/app/settings.ts by `npm run docs:settings`; edit there -->';
const README_END = '<!-- settings:end -->';

/** The README's configuration table: one row per setting. */
export const settingsTable = (): string => {
  const rows = (SETTINGS as readonly SettingSpec[]).map((s) => {
    const dflt = s.default !== undefined ? `\`${s.default}\`` : (s.defaultDoc ?? 'none');
    const meaning = `${s.doc ?? s.help}${s.secret ? ' (secret)' : ''}`;
    const flag = s.negated ? `\`--no-${s.name}\` (\`${s.name}: false\`)` : `\`--${s.name}\``;
    return `| ${flag} | \`${envName(s.name)}\` | ${dflt} | ${meaning} |`;
  });
  return ['| flag (`agentry serve`) = config-file key | environment | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
};

/** `readme` with the text between the settings markers replaced by the current table. */
export const withSettingsTable = (readme: string): string => {
  const begin = readme.indexOf(README_BEGIN);
  const end = readme.indexOf(README_END);
  if (begin < 0 || end < begin) throw new Error(`the README has no settings markers (${README_BEGIN} … ${README_END})`);
  return `${readme.slice(0, begin + README_BEGIN.length)}\n${settingsTable()}\n${readme.slice(end)}`;
};
