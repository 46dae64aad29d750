import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Api } from './packages.js';
import { dropTestSchema } from './postgres.js';
import { spawnListening } from './spawn-listening.js';

const ENTRY = fileURLToPath(new URL('./server-entry.mjs', import.meta.url));
const BUILT = fileURLToPath(new URL('../../dist/app/server.js', import.meta.url));

export interface ChildServer {
  url: string;
  process: ChildProcess;
  /** SIGKILL: no shutdown hook, no flush, no cleanup runs. Resolves once the process is gone. */
  kill(): Promise<void>;
  /** Everything the child wrote to stderr, for failure messages. */
  stderr(): string;
}

/**
 * Starts the built server (dist/, so `npm run build` first) as a child process on a data dir,
 * so a test can kill it the hard way and start it again on the same data.
 */
export const startChildServer = async (env: {
  dataDir: string;
  adminToken: string;
  databaseUrl?: string;
  databaseSchema?: string;
  /** More environment for the server (rate limits, Redis); rate limits are generous unless set here. */
  extra?: Record<string, string>;
}): Promise<ChildServer> => {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run 'npm run build' before this test`);
  const { url, child, exited, stderr } = await spawnListening(
    [ENTRY],
    {
      PATH: process.env.PATH,
      AGENTRY_DATA_DIR: env.dataDir,
      AGENTRY_ADMIN_TOKEN: env.adminToken,
      AGENTRY_DATABASE_URL: env.databaseUrl ?? '',
      AGENTRY_DATABASE_SCHEMA: env.databaseSchema ?? '',
      AGENTRY_RATE_LIMIT_ANONYMOUS: '1000000/min',
      AGENTRY_RATE_LIMIT_USER: '1000000/min',
      AGENTRY_RATE_LIMIT_PUBLISH: '1000000/hour',
      ...env.extra,
    },
    (out) => {
      const line = out.split('\n').find((l) => l.startsWith('{'));
      return line ? (JSON.parse(line) as { url: string }).url : undefined;
    },
    'server',
  );
  return {
    url,
    process: child,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    stderr,
  };
};

/**
 * The built server (startChildServer) on a fresh data dir, and on PostgreSQL a schema of its own,
 * with one user, alice: her API, and `close`, which kills the server and removes its data.
 */
export const childServerWithAlice = async (store: 'sqlite' | 'postgres', label: string): Promise<{ server: ChildServer; api: Api; close(): Promise<void> }> => {
  const dataDir = mkdtempSync(join(tmpdir(), `agentry-${label}-`));
  const adminToken = `agentry_${randomBytes(32).toString('base64url')}`;
  const schema = store === 'postgres' ? `t_${randomBytes(6).toString('hex')}` : undefined;
  const removeData = async (): Promise<void> => {
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) await dropTestSchema(schema);
  };
  const server = await startChildServer({ dataDir, adminToken, databaseUrl: store === 'postgres' ? process.env.AGENTRY_TEST_DATABASE_URL : undefined, databaseSchema: schema }).catch(
    async (e: unknown) => {
      await removeData();
      throw e;
    },
  );
  const close = async (): Promise<void> => {
    try {
      await server.kill();
    } finally {
      await removeData();
    }
  };
  const created = await new Api(server.url, adminToken).req('POST', '/api/v1/users', { username: 'alice' });
  if (created.status !== 201) {
    await close();
    throw new Error(`creating alice answered ${created.status}: ${JSON.stringify(created.body)}`);
  }
  return { server, api: new Api(server.url, created.body.token as string), close };
};
