import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { spawnListening } from './spawn-listening.js';

const BIN = fileURLToPath(new URL('../../bin/agentry.js', import.meta.url));
const BUILT = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** An `agentry serve` process, started as an operator starts it: the shipped CLI, flags and environment. */
export interface ServeProcess {
  url: string;
  process: ChildProcess;
  /** SIGTERM, and waits for the process to finish its requests and exit. */
  stop(): Promise<void>;
  /** Everything it wrote to stderr, for failure messages. */
  stderr(): string;
}

/**
 * Runs `node bin/agentry.js serve --host 127.0.0.1 --port 0 <args>` (the built CLI: `npm run build`
 * first) with only `env` (and PATH) as its environment, and resolves once it says where it listens.
 */
export const startServeProcess = async (args: string[], env: Record<string, string>): Promise<ServeProcess> => {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run 'npm run build' before this test`);
  const { url, child, exited, stderr } = await spawnListening(
    [BIN, 'serve', '--host', '127.0.0.1', '--port', '0', ...args],
    { PATH: process.env.PATH ?? '', ...env },
    (out) => /Agentry listening on (http:\/\/\S+)/.exec(out)?.[1],
    'agentry serve',
  );
  return {
    url,
    process: child,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
    stderr,
  };
};
