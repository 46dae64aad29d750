import { mkdtempSync, rmSync } from 'node:fs';
import { dropTestSchema } from './postgres.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { resolveConfig, type ServerConfig } from '../../src/app/config.js';
import { startServer } from '../../src/app/server.js';

export type TestStore = 'sqlite' | 'postgres';

/** The stores every API test runs against: SQLite always, PostgreSQL when AGENTRY_TEST_DATABASE_URL is set. */
export const testStores: TestStore[] = process.env.AGENTRY_TEST_DATABASE_URL ? ['sqlite', 'postgres'] : ['sqlite'];

export interface TestServer {
  url: string;
  adminToken: string;
  dataDir: string;
  store: TestStore;
  /** The PostgreSQL schema of this server, on that store. */
  schema?: string;
  close(): Promise<void>;
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
    /** Environment the server's configuration is read from (secret backends); empty by default. */
    env?: NodeJS.ProcessEnv;
    /** AGENTRY_SKILLS_ROOT: the folder skills may be validated from by path. */
    skillsRoot?: string;
  } = {},
): Promise<TestServer> => {
  const store = opts.store ?? 'sqlite';
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'agentry-test-'));
  const adminToken = opts.adminToken ?? `agentry_${randomBytes(32).toString('base64url')}`;
  const base = resolveConfig({ host: '127.0.0.1', port: 0, dataDir, adminToken, logLevel: 'silent' }, opts.env ?? {});
  const schema = store === 'postgres' ? (opts.postgresSchema ?? `t_${randomBytes(6).toString('hex')}`) : undefined;
  const config: ServerConfig = {
    ...base,
    databaseUrl: store === 'postgres' ? process.env.AGENTRY_TEST_DATABASE_URL : undefined,
    databaseSchema: schema,
    limits: { ...base.limits, ...opts.limits },
    readOnly: opts.readOnly ?? false,
    skillsRoot: opts.skillsRoot,
  };
  const server = await startServer(config);
  return {
    url: server.url,
    adminToken,
    dataDir,
    store,
    schema,
    close: async () => {
      await server.close();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
      if (schema && !opts.postgresSchema) {
        await dropTestSchema(schema);
      }
    },
  };
};
