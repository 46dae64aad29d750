import { mkdtempSync, rmSync } from 'node:fs';
import { dropTestSchema } from './postgres.js';
import { untilDone } from './leftovers.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { resolveConfig, type ServerConfig } from '../../src/app/config.js';
import { startServer } from '../../src/app/server.js';

export type TestStore = 'sqlite' | 'postgres';

/** The stores every API test runs against: SQLite always, PostgreSQL when AGENTRY_TEST_DATABASE_URL is set. */
export const testStores: TestStore[] = process.env.AGENTRY_TEST_DATABASE_URL ? ['sqlite', 'postgres'] : ['sqlite'];

/** Limits no test meets unless it asks for tighter ones (the headers are still there on every response). */
export const GENEROUS_RATE_LIMITS: ServerConfig['rateLimits'] = {
  anonymous: { limit: 1_000_000, windowMs: 60_000 },
  user: { limit: 1_000_000, windowMs: 60_000 },
  publish: { limit: 1_000_000, windowMs: 3_600_000 },
};

export interface TestServer {
  url: string;
  adminToken: string;
  dataDir: string;
  store: TestStore;
  /** The PostgreSQL schema of this server, on that store. */
  schema?: string;
  /** The server's route table (method, URL pattern), as Fastify registered it. */
  routes: ReadonlyArray<{ method: string; url: string }>;
  /** Compiles the schemas of every route that has not answered yet (the server compiles them on first use); how many. */
  compileSchemas(): number;
  /** Stops the server (requests in flight get `graceMs` to finish) and removes its data. */
  close(graceMs?: number): Promise<void>;
}

/** A real server on 127.0.0.1 (random port) with a temp data dir; on PostgreSQL, in a schema of its own. */
export const startTestServer = async (
  opts: {
    store?: TestStore;
    dataDir?: string;
    adminToken?: string;
    limits?: Partial<ServerConfig['limits']>;
    /** Share another test server's PostgreSQL schema (it stays with its first owner). */
    postgresSchema?: string;
    readOnly?: boolean;
    /** The visibility new scopes start with (`--default-visibility`). */
    defaultVisibility?: ServerConfig['defaultVisibility'];
    /** Every read needs a token (`--auth-required-for-reads`). */
    authRequiredForReads?: boolean;
    recipeScope?: string;
    /** Environment the server's configuration is read from (secret backends, AGENTRY_OAUTH_*); empty by default. */
    env?: NodeJS.ProcessEnv;
    /** Log at this level into this stream (default: silent). */
    log?: { level: string; stream: NodeJS.WritableStream };
    /** AGENTRY_SKILLS_ROOT: the folder skills may be validated from by path. */
    skillsRoot?: string;
    /** Rate limits; by default so high that no test of something else meets them. */
    rateLimits?: Partial<ServerConfig['rateLimits']>;
    /** Keep rate-limit counters in this Redis, under this key prefix. */
    redis?: { url: string; keyPrefix: string };
    /**
     * The egress allow-list (`--egress-allow`): a test whose upstreams (model providers, registries,
     * Vault, OAuth) listen on 127.0.0.1 allows loopback here, as a user would.
     */
    egressAllow?: string;
    /** Keep blobs here (`--blob-store`: s3://… or file://…) instead of the data dir; S3 credentials come from `env`. */
    blobStore?: string;
    /** MCP workload supervisor timings (short back-off and health intervals for tests). */
    workloadTimings?: ServerConfig['workloadTimings'];
    /** How long an idle shared workload (an agent.yaml package's MCP server) keeps running. */
    sharedWorkloadIdleMs?: number;
    /** `--unsafe-local-workloads`. */
    unsafeLocalWorkloads?: boolean;
  } = {},
): Promise<TestServer> => {
  const store = opts.store ?? 'sqlite';
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'agentry-test-'));
  const adminToken = opts.adminToken ?? `agentry_${randomBytes(32).toString('base64url')}`;
  const schema = store === 'postgres' ? (opts.postgresSchema ?? `t_${randomBytes(6).toString('hex')}`) : undefined;
  // A start that fails (a refused setting, a store that cannot open) removes what this helper made for it.
  const removeOwn = async (): Promise<void> => {
    if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    if (schema && !opts.postgresSchema) await dropTestSchema(schema);
  };
  let base: ServerConfig;
  try {
    base = resolveConfig(
      { host: '127.0.0.1', port: 0, dataDir, adminToken, logLevel: opts.log?.level ?? 'silent', blobStore: opts.blobStore },
      {
        // Client settings files are edited below a home of the test's own, never the real user's.
        AGENTRY_CLIENTS_HOME: join(dataDir, 'home'),
        ...opts.env,
      },
    );
  } catch (e) {
    // A refused setting (the schema is not made yet).
    if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
  const config: ServerConfig = {
    ...base,
    databaseUrl: store === 'postgres' ? process.env.AGENTRY_TEST_DATABASE_URL : undefined,
    databaseSchema: schema,
    limits: { ...base.limits, ...opts.limits },
    readOnly: opts.readOnly ?? false,
    defaultVisibility: opts.defaultVisibility ?? base.defaultVisibility,
    authRequiredForReads: opts.authRequiredForReads ?? base.authRequiredForReads,
    ...(opts.recipeScope ? { recipeScope: opts.recipeScope } : {}),
    skillsRoot: opts.skillsRoot,
    rateLimits: { ...GENEROUS_RATE_LIMITS, ...opts.rateLimits },
    redisUrl: opts.redis?.url,
    redisKeyPrefix: opts.redis?.keyPrefix ?? base.redisKeyPrefix,
    logStream: opts.log?.stream,
    egressAllow: opts.egressAllow !== undefined ? [opts.egressAllow] : base.egressAllow,
    workloadTimings: opts.workloadTimings,
    sharedWorkloadIdleMs: opts.sharedWorkloadIdleMs,
    unsafeLocalWorkloads: opts.unsafeLocalWorkloads ?? false,
  };
  const server = await startServer(config).catch(async (e: unknown) => {
    await removeOwn();
    throw e;
  });
  const forget = untilDone(`the test server at ${server.url} (${dataDir})`, () => close(2_000));
  const close = async (graceMs?: number): Promise<void> => {
    forget();
    try {
      await server.close(graceMs);
    } finally {
      await removeOwn();
    }
  };
  return {
    url: server.url,
    adminToken,
    dataDir,
    store,
    schema,
    routes: server.routes,
    compileSchemas: server.compileSchemas,
    close,
  };
};
