import type { Command } from 'commander';
import { writeLine } from '../output.js';
import { nextStopSignal } from '../stop-signal.js';

interface ServeOptions {
  egressAllow?: string;
  host?: string;
  port?: string;
  dataDir?: string;
  databaseUrl?: string;
  blobStore?: string;
  blobRedirects?: string;
  trustProxy?: string;
  ociDefaultScope?: string;
  adminToken?: string;
  publicUrl?: string;
  logLevel?: string;
  readOnly?: boolean;
  unsafeLocalWorkloads?: boolean;
  defaultVisibility?: string;
  authRequiredForReads?: boolean;
  recipeScope?: string;
  rateLimits?: string;
  rateLimitAnonymous?: string;
  rateLimitUser?: string;
  rateLimitPublish?: string;
  redisUrl?: string;
  metricsToken?: string;
  runtime?: boolean;
  unsafeLocalTools?: boolean;
}

/**
 * `agentry serve`: the only command that runs server code. The server modules are loaded when
 * the command runs, so the other commands start without them.
 */
export const registerServeCommand = (program: Command): void => {
  program
    .command('serve')
    .description('Run the registry server')
    .option('--host <host>', 'address to bind (env AGENTRY_HOST; default 127.0.0.1)')
    .option('--port <port>', 'port, 0 for a free one (env AGENTRY_PORT; default 8080)')
    .option('--data-dir <dir>', 'SQLite file and blob folder (env AGENTRY_DATA_DIR; default ./data)')
    .option('--database-url <url>', 'postgres://… to keep metadata in PostgreSQL (env AGENTRY_DATABASE_URL)')
    .option(
      '--blob-store <url>',
      's3://bucket/prefix?endpoint=…&region=…&forcePathStyle=true to keep blobs in S3-compatible storage, or file:///path (env AGENTRY_BLOB_STORE; default <data-dir>/blobs; S3 credentials from the AWS variables and provider chain, never the URL)',
    )
    .option(
      '--blob-redirects <off|on|lifetime>',
      'answer blob downloads (OCI blob GET, /api/v1/blobs) with 307 to a presigned S3 URL after the access check: off, on (5 min) or how long a URL lasts, e.g. 90s, 10m, 1h (env AGENTRY_BLOB_REDIRECTS; default off; needs an s3:// blob store that clients can reach)',
    )
    .option('--admin-token <token>', "the admin's token (env AGENTRY_ADMIN_TOKEN; default: generated on first start)")
    .option('--public-url <url>', 'base URL used in links (env AGENTRY_PUBLIC_URL; default: from the request)')
    .option('--log-level <level>', 'log level, silent … trace (env AGENTRY_LOG_LEVEL; default info)')
    .option('--read-only', 'serve reads only and refuse every write (env AGENTRY_READ_ONLY=true)')
    .option('--unsafe-local-workloads', 'run local MCP workloads without a sandbox when bubblewrap is missing: no file or network isolation (env AGENTRY_UNSAFE_LOCAL_WORKLOADS=true; default: refuse them)')
    .option('--default-visibility <visibility>', 'public, internal or private: what new scopes, and so their new packages, start with (env AGENTRY_DEFAULT_VISIBILITY; default public)')
    .option('--auth-required-for-reads', 'every read needs a token; only /healthz stays open (env AGENTRY_AUTH_REQUIRED_FOR_READS=true)')
    .option('--recipe-scope <scope>', 'the scope PraisonAI recipe names (/v1/recipes) map onto (env AGENTRY_RECIPE_SCOPE; default recipes)')
    .option(
      '--rate-limits <preset>',
      "off (no limit), agentx (agentx's hosted values: 60/min per IP, 120/min per user, 10 publishes/hour) or custom (only the --rate-limit-* given) (env AGENTRY_RATE_LIMITS; default off)",
    )
    .option('--rate-limit-anonymous <rule>', "requests per IP without a token, e.g. 60/min, or 'off'; overrides the preset (env AGENTRY_RATE_LIMIT_ANONYMOUS)")
    .option('--rate-limit-user <rule>', 'requests per signed-in user, e.g. 120/min; overrides the preset (env AGENTRY_RATE_LIMIT_USER)')
    .option('--rate-limit-publish <rule>', 'publishes per user, e.g. 10/hour; overrides the preset (env AGENTRY_RATE_LIMIT_PUBLISH)')
    .option('--redis-url <url>', 'redis://… to share rate-limit counters between server processes (env AGENTRY_REDIS_URL)')
    .option('--egress-allow <list>', "addresses the server may call besides public ones: hosts, host:port, IPs, CIDRs, or '*', comma-separated (env AGENTRY_EGRESS_ALLOW; default none: loopback, private, link-local and metadata addresses are refused)")
    .option('--no-runtime', 'run no session workers in this process: sessions run in `agentry runtime` processes on the same database (env AGENTRY_RUNTIME=false)')
    .option(
      '--oci-default-scope <scope>',
      'the scope single-level OCI repository names (/v2/app/…) belong to, as <scope>/app (env AGENTRY_OCI_DEFAULT_SCOPE; default none: such names are refused with NAME_INVALID)',
    )
    .option(
      '--trust-proxy <list>',
      "load balancers whose X-Forwarded-For/-Proto/-Host name the client: IPs, CIDRs, or loopback, linklocal, uniquelocal, comma-separated (env AGENTRY_TRUST_PROXY; default none: the peer is the client)",
    )
    .option(
      '--unsafe-local-tools',
      "when no sandbox works (bubblewrap missing), run agents' bash tool directly on this host as the server's user, with no isolation of files, processes or network; trusted agents only (env AGENTRY_UNSAFE_LOCAL_TOOLS=true; default: bash is refused)",
    )
    .option('--metrics-token <token>', 'require this Bearer token on /metrics, 16+ characters (env AGENTRY_METRICS_TOKEN; default: /metrics is open)')
    .action(async (opts: ServeOptions) => {
      const { resolveConfig } = await import('../../app/config.js');
      const { startServer } = await import('../../app/server.js');
      const config = resolveConfig({
        host: opts.host,
        port: opts.port,
        dataDir: opts.dataDir,
        databaseUrl: opts.databaseUrl,
        blobStore: opts.blobStore,
        blobRedirects: opts.blobRedirects,
        adminToken: opts.adminToken,
        publicUrl: opts.publicUrl,
        logLevel: opts.logLevel,
        readOnly: opts.readOnly,
        unsafeLocalWorkloads: opts.unsafeLocalWorkloads,
        defaultVisibility: opts.defaultVisibility,
        authRequiredForReads: opts.authRequiredForReads,
        recipeScope: opts.recipeScope,
        rateLimits: opts.rateLimits,
        rateLimitAnonymous: opts.rateLimitAnonymous,
        rateLimitUser: opts.rateLimitUser,
        rateLimitPublish: opts.rateLimitPublish,
        redisUrl: opts.redisUrl,
        egressAllow: opts.egressAllow,
        metricsToken: opts.metricsToken,
        runtime: opts.runtime === false ? false : undefined,
        trustProxy: opts.trustProxy,
        ociDefaultScope: opts.ociDefaultScope,
        unsafeLocalTools: opts.unsafeLocalTools,
      });
      const server = await startServer(config);
      const stopped = nextStopSignal();
      const lines = [`Agentry listening on ${server.url}`, ...server.notices];
      if (!config.runtime) {
        lines.push(
          config.databaseUrl
            ? 'No session workers in this process (--no-runtime): sessions run in `agentry runtime` processes on this database.'
            : 'No session workers in this process (--no-runtime): run `agentry runtime` on the same data dir; without PostgreSQL, streams here see its events at each heartbeat only.',
        );
      }
      if (server.adminToken) {
        lines.push(
          '',
          '================================================================',
          ' The admin account was created. Its token is shown only once:',
          '',
          `   ${server.adminToken}`,
          '',
          ` Log in with: agentry login --registry ${server.url} --token <token>`,
          '================================================================',
          '',
        );
      }
      writeLine(lines.join('\n'));
      const signal = await stopped;
      writeLine(`Received ${signal}, shutting down`);
      await server.close();
    });
};

/**
 * `agentry runtime`: session workers without the HTTP server, for scale-out: they share the
 * database (PostgreSQL) with `agentry serve --no-runtime` processes and take running sessions from it.
 */
export const registerRuntimeCommand = (program: Command): void => {
  program
    .command('runtime')
    .description('Run session workers only (no HTTP): they take running sessions from the shared database')
    .option('--data-dir <dir>', 'SQLite file and blob folder (env AGENTRY_DATA_DIR; default ./data)')
    .option('--database-url <url>', 'postgres://… shared with the serving processes (env AGENTRY_DATABASE_URL)')
    .option('--blob-store <url>', 'the blob store the serving processes use (env AGENTRY_BLOB_STORE)')
    .option('--egress-allow <list>', 'addresses model providers may be reached at besides public ones (env AGENTRY_EGRESS_ALLOW)')
    .option('--log-level <level>', 'log level, silent … trace (env AGENTRY_LOG_LEVEL; default info)')
    .action(async (opts: Pick<ServeOptions, 'dataDir' | 'databaseUrl' | 'blobStore' | 'egressAllow' | 'logLevel'>) => {
      const { resolveConfig } = await import('../../app/config.js');
      const { startServer } = await import('../../app/server.js');
      const config = resolveConfig({ dataDir: opts.dataDir, databaseUrl: opts.databaseUrl, blobStore: opts.blobStore, egressAllow: opts.egressAllow, logLevel: opts.logLevel, runtime: true });
      const running = await startServer(config, { http: false });
      const stopped = nextStopSignal();
      writeLine(`Agentry session runtime running on ${config.databaseUrl ? 'PostgreSQL' : config.dataDir}`);
      const signal = await stopped;
      writeLine(`Received ${signal}, shutting down`);
      await running.close();
    });
};
