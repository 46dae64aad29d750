import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

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
  const child = spawn(process.execPath, [ENTRY], {
    env: {
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
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start in 60 s: ${err}`)), 60_000);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { url: string }).url);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code ?? signal}) before listening: ${err}`));
    });
  });
  return {
    url,
    process: child,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    stderr: () => err,
  };
};
