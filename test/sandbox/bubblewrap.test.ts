import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawn as spawnChild } from 'node:child_process';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BubblewrapSandbox } from '../../src/adapters/sandbox/bubblewrap.js';
import { isAgentryError } from '../../src/core/errors.js';
import type { SandboxProfile, SandboxSpec } from '../../src/core/sandbox/sandbox.js';
import { runSandboxed } from '../helpers/sandbox.js';

/**
 * The bubblewrap process sandbox, for real: a sandboxed `node -e` tries to read, write and connect where
 * its profile does and does not allow. In CI (CI=true) or the full local run (AGENTRY_TEST_DATABASE_URL
 * set) a missing bwrap fails these tests; on a bare developer machine they are skipped with a note.
 */
const bwrapInstalled = existsSync('/usr/bin/bwrap') || existsSync('/usr/local/bin/bwrap') || existsSync('/bin/bwrap');
const bwrapRequired = process.env.CI === 'true' || Boolean(process.env.AGENTRY_TEST_DATABASE_URL);
const run = bwrapInstalled || bwrapRequired;
if (!run) console.warn('skipping the bubblewrap sandbox tests: bwrap is not installed (apt-get install -y bubblewrap)');

const NO_NETWORK: SandboxProfile['network'] = { outbound: {} };
const profile = (p: Partial<SandboxProfile> = {}): SandboxProfile => ({ read: [], write: [], network: NO_NETWORK, ...p });
const nodeSpec = (script: string, p: Partial<SandboxProfile> = {}, env: Record<string, string> = {}): SandboxSpec => ({
  command: 'node',
  args: ['-e', script],
  env,
  profile: profile(p),
});

const sandbox = new BubblewrapSandbox();

/** Runs a spec to the end: exit code, stdout and stderr. */
const runToEnd = async (spec: SandboxSpec): Promise<{ code: number | null; stdout: string; stderr: string }> => {
  const r = await runSandboxed(sandbox, spec);
  return { ...r, stdout: r.stdout.trim() };
};

/** A node one-liner printing the error code of `fn` or `ok`. */
const attempt = (body: string): string => `try { ${body}; console.log('ok') } catch (e) { console.log(e.code ?? e.message) }`;

describe.runIf(run)('bubblewrap sandbox', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'agentry-sandbox-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('probes bwrap and says it works', async () => {
    const probe = await sandbox.probe();
    expect(probe.reason).toBeUndefined();
    expect(probe.available).toBe(true);
    expect(probe.version).toMatch(/^bubblewrap \d/);
  });

  it('hides files outside its mounts, runs as nobody and passes only the given env', async () => {
    const secret = join(dir, 'secret.txt');
    writeFileSync(secret, 'top secret');
    const script = `${attempt(`require('fs').readFileSync(${JSON.stringify(secret)})`)};
      console.log(JSON.stringify({ uid: process.getuid(), gid: process.getgid(), env: Object.keys(process.env).sort(),
        work: require('fs').existsSync(${JSON.stringify(process.cwd())}), passwd: require('fs').existsSync('/etc/passwd') }))`;
    const r = await runToEnd(nodeSpec(script, {}, { FOO: 'bar' }));
    expect(r.code, r.stderr).toBe(0);
    const [readResult, info] = r.stdout.split('\n');
    expect(readResult).toBe('ENOENT');
    // PWD is bwrap's own (--chdir), the sandbox's working directory: nothing of the host's environment.
    expect(JSON.parse(info)).toEqual({ uid: 65534, gid: 65534, env: ['FOO', 'HOME', 'PATH', 'PWD'], work: false, passwd: false });
  });

  it('reads and writes inside its write mount; the host sees the file', async () => {
    const w = join(dir, 'rw');
    mkdirSync(w);
    writeFileSync(join(w, 'in.txt'), 'hello');
    const script = `const fs = require('fs'); const t = fs.readFileSync('${w}/in.txt', 'utf8'); fs.writeFileSync('${w}/out.txt', t + ' back'); console.log(t)`;
    const r = await runToEnd(nodeSpec(script, { write: [w] }));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('hello');
    expect(readFileSync(join(w, 'out.txt'), 'utf8')).toBe('hello back');
  });

  it('reads but cannot write, delete or chmod in a read mount', async () => {
    const ro = join(dir, 'ro');
    mkdirSync(ro);
    writeFileSync(join(ro, 'data.txt'), 'read me');
    const script = [
      attempt(`if (require('fs').readFileSync('${ro}/data.txt', 'utf8') !== 'read me') throw new Error('bad content')`),
      attempt(`require('fs').writeFileSync('${ro}/new.txt', 'x')`),
      attempt(`require('fs').unlinkSync('${ro}/data.txt')`),
      attempt(`require('fs').chmodSync('${ro}/data.txt', 0o777)`),
    ].join(';');
    const r = await runToEnd(nodeSpec(script, { read: [ro] }));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')).toEqual(['ok', 'EROFS', 'EROFS', 'EROFS']);
    expect(existsSync(join(ro, 'new.txt'))).toBe(false);
    expect(readFileSync(join(ro, 'data.txt'), 'utf8')).toBe('read me');
  });

  it('keeps a read mount inside a write mount read-only, and maps host:sandbox paths', async () => {
    const outer = join(dir, 'outer');
    mkdirSync(join(outer, 'inner'), { recursive: true });
    const script = [attempt(`require('fs').writeFileSync('/data/a.txt', 'a')`), attempt(`require('fs').writeFileSync('/data/inner/b.txt', 'b')`)].join(';');
    const r = await runToEnd(nodeSpec(script, { read: [`${outer}/inner:/data/inner`], write: [`${outer}:/data`] }));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')).toEqual(['ok', 'EROFS']);
    expect(readFileSync(join(outer, 'a.txt'), 'utf8')).toBe('a');
    expect(existsSync(join(outer, 'inner', 'b.txt'))).toBe(false);
  });

  it('does not follow a symlink inside a mount out of the sandbox', async () => {
    const w = join(dir, 'with-link');
    mkdirSync(w);
    const outside = join(dir, 'outside.txt');
    writeFileSync(outside, 'host only');
    symlinkSync(outside, join(w, 'escape'));
    const r = await runToEnd(nodeSpec(attempt(`require('fs').readFileSync('${w}/escape')`), { write: [w] }));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('ENOENT');
  });

  it('talks over stdin and stdout (the stdio transport of MCP servers) in its cwd', async () => {
    const w = join(dir, 'cwd');
    mkdirSync(w);
    const proc = await sandbox.spawn({
      ...nodeSpec(`process.stdin.on('data', (d) => process.stdout.write(process.cwd() + ' ' + d.toString().toUpperCase())); process.stdin.on('end', () => process.exit(3))`, { write: [w] }),
      cwd: w,
    });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stdin.write('ping\n');
    proc.stdin.end();
    expect(await proc.exited).toEqual({ code: 3, signal: null });
    expect(out).toBe(`${w} PING\n`);
  });

  describe('network', () => {
    let server: net.Server;
    let port: number;
    let accepted = 0;
    beforeAll(async () => {
      server = net.createServer((socket) => {
        accepted += 1;
        socket.end('hi\n');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as net.AddressInfo).port;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    const connect = () =>
      `const s = require('net').connect(${port}, '127.0.0.1'); s.on('data', (d) => { console.log('connected ' + d.toString().trim()); s.destroy() }); s.on('error', (e) => console.log(e.code))`;

    it('has no network when the profile gives none', async () => {
      const before = accepted;
      const r = await runToEnd(nodeSpec(connect()));
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('ECONNREFUSED');
      expect(accepted).toBe(before);
    });

    it('connects when the profile says insecure_allow_all', async () => {
      const before = accepted;
      const r = await runToEnd(nodeSpec(connect(), { network: { outbound: { insecure_allow_all: true } } }));
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('connected hi');
      expect(accepted).toBe(before + 1);
    });
  });

  it('ends the whole process tree when its handle is killed', async () => {
    const script = `require('child_process').spawn('node', ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }); setInterval(() => {}, 1000); console.log('ready')`;
    const proc = await sandbox.spawn(nodeSpec(script));
    await new Promise<void>((resolve) => proc.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()));
    const tree = descendantsOf(proc.pid);
    try {
      expect(tree.length).toBeGreaterThanOrEqual(3); // bwrap's child, node, its child node
      proc.kill('SIGKILL');
      await proc.exited;
      await gone(tree);
      expect(tree.filter(alive)).toEqual([]);
      expect(alive(proc.pid)).toBe(false);
    } finally {
      killLeftovers([proc.pid, ...tree]);
    }
  });

  it('ends when the server process that started it dies (kill -9 of the parent)', async () => {
    // The parent is a plain node running the built adapter (dist/, so `npm run build` first).
    const built = new URL('../../dist/adapters/sandbox/bubblewrap.js', import.meta.url);
    expect(existsSync(built), 'dist/ is missing: run `npm run build` first').toBe(true);
    const parentScript = `
      const { BubblewrapSandbox } = await import(${JSON.stringify(built.href)});
      const proc = await new BubblewrapSandbox().spawn({ command: 'node', args: ['-e', 'setInterval(() => {}, 1000); console.log("ready")'], env: {},
        profile: { read: [], write: [], network: { outbound: {} } } });
      proc.stdout.on('data', (d) => process.stdout.write(d));
      setInterval(() => {}, 1000);`;
    const parent = spawnChild(process.execPath, ['--input-type=module', '-e', parentScript], { stdio: ['ignore', 'pipe', 'inherit'] });
    let tree: number[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        parent.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
        parent.once('exit', () => reject(new Error('the parent ended early')));
      });
      tree = descendantsOf(parent.pid!);
      expect(tree.length).toBeGreaterThanOrEqual(3); // bwrap, its child, node
      parent.kill('SIGKILL');
      await gone(tree);
      expect(tree.filter(alive)).toEqual([]);
    } finally {
      if (parent.exitCode === null && parent.signalCode === null) parent.kill('SIGKILL');
      killLeftovers(tree);
    }
  });
});

describe('bubblewrap sandbox: refusals before spawning', () => {
  // A bwrap path that does not exist: reaching the spawn would fail `unavailable`, so a
  // `validation_failed` proves the spec was refused before anything was started.
  const noBwrap = new BubblewrapSandbox({ bwrapPath: '/nonexistent/bwrap' });
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'agentry-sandbox-refuse-'));
    mkdirSync(join(dir, 'real'));
    symlinkSync('/etc', join(dir, 'link'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const refusal = async (spec: SandboxSpec): Promise<string[]> => {
    try {
      await noBwrap.spawn(spec);
    } catch (e) {
      if (isAgentryError(e) && e.code === 'validation_failed') return e.details;
      throw e;
    }
    throw new Error('spawned');
  };

  it.each([
    ['/ as a read mount', { read: ['/'] }, /mounting "\/" is refused/],
    ['/ spelled //./ as a write mount', { write: ['//./'] }, /mounting "\/" is refused/],
    ['/ as the sandbox side', { read: ['/tmp:/'] }, /mounting "\/" is refused/],
    ['a .. path', { write: ['/tmp/../etc'] }, /has a "\.\." segment/],
    ['a .. sandbox path', { read: ['/tmp:/x/../../etc'] }, /has a "\.\." segment/],
    ['a relative path', { read: ['etc'] }, /is not an absolute path/],
    ['a volume mount', { read: ['volume://data'] }, /volume mounts are not supported/],
    ['a mount over /proc', { read: ['/tmp:/proc/1'] }, /inside \/proc/],
    ['an empty mount', { write: [''] }, /non-empty string/],
    ['an allow-list with insecure_allow_all', { network: { outbound: { allow_host: ['example.com'], insecure_allow_all: true } } }, /cannot be combined/],
    ['allow_port without allow_host', { network: { outbound: { allow_port: [443] } } }, /needs allow_host/],
    ['a malformed allow-list', { network: { outbound: { allow_host: ['http://example.com/x'] } } }, /must be a list of host names/],
    ['an allow-list without an egress policy', { network: { outbound: { allow_host: ['example.com'] } } }, /without an egress policy/],
  ] as [string, Partial<SandboxProfile>, RegExp][])('refuses %s', async (_name, p, message) => {
    const details = await refusal(nodeSpec('1', p));
    expect(details.join('\n')).toMatch(message);
  });

  it('refuses a path through a symlink and a missing path', async () => {
    expect((await refusal(nodeSpec('1', { read: [join(dir, 'link')] }))).join('\n')).toMatch(/resolves through a symlink to "\/etc"/);
    expect((await refusal(nodeSpec('1', { read: [join(dir, 'link', 'ssl')] }))).join('\n')).toMatch(/resolves through a symlink/);
    expect((await refusal(nodeSpec('1', { write: [join(dir, 'missing')] }))).join('\n')).toMatch(/does not exist/);
  });

  it('refuses bad env names, a relative cwd and a path mounted twice, one line each', async () => {
    const real = join(dir, 'real');
    const details = await refusal({ ...nodeSpec('1', { read: [real], write: [real] }, { 'BAD-NAME': 'x' }), cwd: 'here' });
    expect(details).toHaveLength(3);
  });

  it('reaches the spawn (and says bwrap is missing) for a valid profile', async () => {
    await expect(noBwrap.spawn(nodeSpec('1', { read: [join(dir, 'real')] }))).rejects.toMatchObject({ code: 'unavailable' });
    await expect(noBwrap.probe()).resolves.toMatchObject({ available: false });
  });
});

/** Every descendant PID of `pid` (children first), from /proc's parent links. */
function descendantsOf(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirProc()) {
    const stat = readStat(entry);
    if (stat) parents.set(stat.ppid, [...(parents.get(stat.ppid) ?? []), entry]);
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of parents.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

function readdirProc(): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number);
}

function readStat(pid: number): { ppid: number; state: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0], ppid: Number(rest[1]) };
  } catch {
    return undefined;
  }
}

/** Waits up to 5 s for every PID of `pids` to be gone. */
async function gone(pids: number[]): Promise<void> {
  const deadline = Date.now() + 5000;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

/** Kills, by PID, what this test started and is still there after a failure (never anything else). */
function killLeftovers(pids: number[]): void {
  for (const pid of pids.filter(alive)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Alive: present in /proc and not a zombie waiting to be reaped. */
function alive(pid: number): boolean {
  const stat = readStat(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}
