import { spawn, type ChildProcess } from 'node:child_process';

/** A child process that has said where it listens. */
export interface ListeningChild {
  url: string;
  child: ChildProcess;
  /** Resolves once the process has exited. */
  exited: Promise<void>;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
}

/**
 * Spawns `node <args>` with only `env` as its environment and resolves once `urlIn` finds the
 * listening URL in what it printed to stdout; rejects if it exits first or says nothing for a
 * minute (CI is a loaded 2-core machine). `what` names it in failure messages.
 */
export const spawnListening = async (args: string[], env: NodeJS.ProcessEnv, urlIn: (stdout: string) => string | undefined, what: string): Promise<ListeningChild> => {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start in 60 s: ${err}`)), 60_000);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const found = urlIn(out);
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code ?? signal}) before listening: ${err}${out}`));
    });
  });
  child.stdout!.resume();
  return { url, child, exited, stderr: () => err };
};
