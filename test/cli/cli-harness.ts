import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** Runs the compiled CLI (`node bin/agentry.js …`) as a subprocess, the way a user does. */

export const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/agentry.js');
const MAIN = join(ROOT, 'dist/cli/main.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Written to the CLI's stdin, which is then closed. */
  input?: string;
}

const newestMtime = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce((max, e) => {
    const p = join(dir, e.name);
    return Math.max(max, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }, 0);

/** Fails fast, with the fix, when dist/ is missing or older than src/cli. */
export const assertBuilt = (): void => {
  let built: number;
  try {
    built = statSync(MAIN).mtimeMs;
  } catch {
    throw new Error('dist/cli/main.js is missing: run `npm run build` before the CLI tests');
  }
  if (newestMtime(join(ROOT, 'src/cli')) > built) throw new Error('dist/ is older than src/cli: run `npm run build` before the CLI tests');
};

/** An environment with nothing from the caller's agentry settings leaking in. */
const baseEnv = (): Record<string, string> => {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('AGENTRY_')) env[k] = v;
  return env;
};

export const runCli = (args: readonly string[], opts: RunOptions = {}): Promise<CliResult> =>
  new Promise((resolveRun, reject) => {
    const env = { ...baseEnv(), ...opts.env };
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? ROOT, env: env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });

/**
 * A temp folder to run the CLI in, with its own user config file (AGENTRY_CONFIG) and,
 * when given, a registry (AGENTRY_REGISTRY).
 */
export class CliWorkspace {
  readonly dir: string;
  readonly configPath: string;

  constructor(private readonly registry?: string) {
    this.dir = mkdtempSync(join(tmpdir(), 'agentry-cli-'));
    this.configPath = join(this.dir, '.config', 'agentry', 'config.json');
    mkdirSync(join(this.dir, 'work'));
  }

  /** Where commands run (`<dir>/work`). */
  get cwd(): string {
    return join(this.dir, 'work');
  }

  path(...parts: string[]): string {
    return join(this.cwd, ...parts);
  }

  run(args: readonly string[], opts: RunOptions = {}): Promise<CliResult> {
    return runCli(args, {
      cwd: opts.cwd ?? this.cwd,
      input: opts.input,
      env: { AGENTRY_CONFIG: this.configPath, ...(this.registry ? { AGENTRY_REGISTRY: this.registry } : {}), ...opts.env },
    });
  }

  /** Runs and expects success; answers stdout. */
  async ok(args: readonly string[], opts: RunOptions = {}): Promise<string> {
    const r = await this.run(args, opts);
    if (r.code !== 0) throw new Error(`agentry ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r.stdout;
  }

  /** Runs with --json and expects success; answers the parsed JSON. */
  async json<T = Record<string, unknown>>(args: readonly string[], opts: RunOptions = {}): Promise<T> {
    return JSON.parse(await this.ok([...args, '--json'], opts)) as T;
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** `agentry serve` as a child process: `started` resolves with its URL once listening, or with its exit code; stderr either way. */
export const startServe = (args: readonly string[], opts: { env?: Record<string, string>; cwd?: string } = {}) => {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], {
    env: { PATH: process.env.PATH ?? '', ...opts.env },
    cwd: opts.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const started = new Promise<{ url?: string; code?: number | null; stderr: string; stdout: string }>((resolve) => {
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
      const m = /Agentry listening on (\S+)\n/.exec(stdout);
      if (m) resolve({ url: m[1], stderr, stdout });
    });
    void exited.then((code) => resolve({ code, stderr, stdout }));
  });
  return { child, started, exited };
};
