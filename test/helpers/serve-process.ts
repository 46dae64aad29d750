import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

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
  const child = spawn(process.execPath, [BIN, 'serve', '--host', '127.0.0.1', '--port', '0', ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`agentry serve did not start in 60 s: ${err}`)), 60_000);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /Agentry listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`agentry serve exited (${code ?? signal}) before listening: ${err}${out}`));
    });
  });
  child.stdout!.resume();
  return {
    url,
    process: child,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
    stderr: () => err,
  };
};
