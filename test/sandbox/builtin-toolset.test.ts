import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EgressPolicy, type Resolver } from '../../src/adapters/egress/index.js';
import { BubblewrapSandbox } from '../../src/adapters/sandbox/bubblewrap.js';
import { LocalToolRuntime } from '../../src/adapters/tools/local-tool-runtime.js';
import { isAgentryError } from '../../src/core/errors.js';
import { resolveBuiltinToolset, type SessionToolbox, type ToolNetwork, type ToolResult } from '../../src/core/tools/builtin-toolset.js';

/**
 * The built-in toolset for real: bash under bubblewrap in a session workspace, the file tools confined
 * to it, web_fetch through the egress policy. A fake data dir holds a secret next to the workspaces, and
 * a second session's workspace holds another; neither may be reached.
 */
const bwrapInstalled = existsSync('/usr/bin/bwrap') || existsSync('/usr/local/bin/bwrap') || existsSync('/bin/bwrap');
const run = bwrapInstalled || process.env.CI === 'true' || Boolean(process.env.AGENTRY_TEST_DATABASE_URL);
if (!run) console.warn('skipping the built-in toolset tests: bwrap is not installed (apt-get install -y bubblewrap)');

const ALL_TOOLS = resolveBuiltinToolset([{ type: 'agent_toolset_20260401' }]);
const text = (r: ToolResult): string => r.content.map((c) => c.text).join('');

const resolver: Resolver = (hostname, callback) => {
  if (hostname === 'allowed.test' || hostname === 'denied.test') callback(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
};

describe.runIf(run)('built-in toolset (bash under bubblewrap, file tools, web_fetch)', { timeout: 120_000 }, () => {
  let dataDir: string;
  let runtime: LocalToolRuntime;
  let box: SessionToolbox;
  let other: SessionToolbox;
  let server: Server;
  let port: number;
  let hits = 0;
  const use = (name: string, input: unknown, b: SessionToolbox = box) => b.execute({ id: 'toolu_1', name, input });

  const boxWith = (sessionId: string, networking: ToolNetwork) => runtime.open({ sessionId, tools: ALL_TOOLS, networking });

  beforeAll(async () => {
    dataDir = realpathSync(mkdtempSync(join(tmpdir(), 'agentry-tools-')));
    writeFileSync(join(dataDir, 'agentry.db'), 'the server database');
    server = createServer((req, res) => {
      hits++;
      if (req.url === '/page') {
        res.setHeader('content-type', 'text/html');
        res.end('<html><head><style>p{}</style></head><body><h1>Title</h1><p>Hello <a href="/x">link</a></p><script>evil()</script></body></html>');
      } else if (req.url === '/redirect') {
        res.statusCode = 302;
        res.setHeader('location', 'http://denied.test:' + port + '/page');
        res.end();
      } else if (req.url === '/bin') {
        res.setHeader('content-type', 'application/octet-stream');
        res.end(Buffer.alloc(10));
      } else res.end(`hello from ${req.headers.host}`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    const egress = new EgressPolicy({ allow: ['127.0.0.1'], resolve: resolver });
    runtime = new LocalToolRuntime({ baseDir: join(dataDir, 'workspaces'), sandbox: new BubblewrapSandbox({ egress }), fetch: egress.fetch });
    box = await runtime.open({
      sessionId: 'sesn_one',
      tools: ALL_TOOLS,
      networking: { type: 'none' },
      mounts: [
        { type: 'file', path: '/mnt/session/uploads/file_1', content: 'uploaded data\n' },
        {
          type: 'directory',
          path: '/mnt/skills/pdf',
          files: [
            { path: 'SKILL.md', content: '---\nname: pdf\n---\n' },
            { path: 'scripts/run.sh', content: 'echo run' },
          ],
          writable: false,
        },
        { type: 'directory', path: '/mnt/memory/notes', files: [{ path: 'todo.md', content: '- one\n' }], writable: true },
      ],
    });
    other = await boxWith('sesn_two', { type: 'none' });
    expect((await use('write', { file_path: 'secret.txt', content: 'other session secret' }, other)).is_error).toBe(false);
  });

  afterAll(async () => {
    await box?.close();
    await other?.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('says bash runs sandboxed', async () => {
    expect(await runtime.status()).toMatchObject({ bash: 'sandboxed', message: expect.stringMatching(/bubblewrap/) });
  });

  it('runs bash in /workspace with the mounts in place and keeps state between calls', async () => {
    const r = await use('bash', { command: 'pwd; id -u; cat /mnt/session/uploads/file_1; ls /mnt/skills/pdf; cat /mnt/memory/notes/todo.md; export FOO=bar; cd /tmp' });
    expect(r.is_error, text(r)).toBe(false);
    expect(text(r)).toBe('/workspace\n65534\nuploaded data\nSKILL.md\nscripts\n- one');
    const again = await use('bash', { command: 'echo $FOO; pwd' });
    expect(text(again)).toBe('bar\n/tmp');
  });

  it('cannot read outside the workspace: /etc/shadow, the data dir, other sessions', async () => {
    const otherWs = join(dataDir, 'workspaces', 'sesn_two', 'root', 'workspace', 'secret.txt');
    const r = await use('bash', {
      command: `for f in /etc/shadow /etc/passwd ${join(dataDir, 'agentry.db')} ${otherWs} /root; do if [ -e "$f" ]; then echo "SEEN $f"; cat "$f" 2>&1 | head -1; fi; done; ls / | tr '\\n' ' '`,
    });
    expect(r.is_error, text(r)).toBe(false);
    expect(text(r)).not.toContain('SEEN');
    expect(text(r)).not.toContain('other session secret');
    // Nothing of the host's data dir or other sessions can be found by walking either.
    const walk = await use('bash', {
      command: 'ls / | tr "\\n" " "; grep -rs "other session secret\\|the server database" /workspace /mnt /tmp /run /etc /home /root /var /srv /opt 2>/dev/null | head -3; echo done',
      timeout_ms: 60_000,
    });
    expect(text(walk)).toMatch(/done$/);
    expect(text(walk)).not.toMatch(/home|root|srv|work /);
  });

  it('keeps read-only mounts read-only for bash and for the file tools, writable ones writable', async () => {
    const r = await use('bash', {
      command: 'echo x > /mnt/skills/pdf/SKILL.md; echo x > /mnt/session/uploads/file_1; echo "- two" >> /mnt/memory/notes/todo.md; echo out > /mnt/session/outputs/report.txt',
    });
    expect(text(r)).toMatch(/Read-only file system[\s\S]*Read-only file system/);
    const w = await use('write', { file_path: '/mnt/skills/pdf/SKILL.md', content: 'x' });
    expect(w).toMatchObject({ is_error: true });
    expect(text(w)).toContain('/mnt/skills/pdf, which is read-only');
    const e = await use('edit', { file_path: '/mnt/session/uploads/file_1', old_string: 'uploaded', new_string: 'changed' });
    expect(text(e)).toContain('read-only');
    expect(await box.collect('/mnt/memory/notes')).toEqual([{ path: 'todo.md', content: Buffer.from('- one\n- two\n') }]);
    expect((await box.collect('/mnt/session/outputs')).map((f) => f.path)).toEqual(['report.txt']);
    await expect(box.collect('/mnt/skills/pdf')).rejects.toThrow(/not a writable folder/);
  });

  it('has no network when the environment says none', async () => {
    const before = hits;
    const r = await use('bash', { command: `curl -sS --max-time 5 http://127.0.0.1:${port}/ 2>&1; echo; curl -sS --max-time 5 http://allowed.test:${port}/ 2>&1; echo; env | grep -i _proxy | wc -l` });
    expect(text(r)).toMatch(/Couldn't connect|Failed to connect/);
    expect(text(r)).toMatch(/Could not resolve host/);
    expect(text(r).trim().endsWith('0')).toBe(true);
    expect(hits).toBe(before);
  });

  it('reaches an allow-listed host through the proxy and is refused others (limited networking)', async () => {
    const limited = await boxWith('sesn_limited', { type: 'limited', allowedHosts: ['allowed.test'] });
    try {
      const before = hits;
      const ok = await use('bash', { command: `curl -sS --max-time 10 http://allowed.test:${port}/` }, limited);
      expect(ok.is_error, text(ok)).toBe(false);
      expect(text(ok)).toBe(`hello from allowed.test:${port}`);
      const denied = await use('bash', { command: `curl -sS --max-time 10 -w ' %{http_code}' http://denied.test:${port}/` }, limited);
      expect(text(denied)).toContain('denied.test is not an allowed host');
      expect(text(denied)).toMatch(/403$/);
      const around = await use('bash', { command: `curl -sS --max-time 5 --noproxy '*' http://127.0.0.1:${port}/` }, limited);
      expect(around.is_error).toBe(true);
      expect(hits).toBe(before + 1);
    } finally {
      await limited.close();
    }
  });

  it('reaches any host the egress policy allows when networking is unrestricted, still through the proxy', async () => {
    const open = await boxWith('sesn_open', { type: 'unrestricted' });
    try {
      const r = await use('bash', { command: `curl -sS --max-time 10 http://denied.test:${port}/; echo; curl -sS --max-time 10 -w ' %{http_code}' http://10.9.8.7:${port}/` }, open);
      expect(text(r)).toContain(`hello from denied.test:${port}`);
      // A private address stays refused (the operator allowed only 127.0.0.1).
      expect(text(r)).toMatch(/10\.9\.8\.7 is refused by the server's egress policy\s+403$/);
    } finally {
      await open.close();
    }
  });

  it('stops a command when the call is aborted (an interrupt), and says so', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 500);
    const r = await box.execute({ id: 'toolu_2', name: 'bash', input: { command: 'echo before; sleep 60' } }, { signal: ac.signal });
    expect(r.is_error).toBe(true);
    expect(text(r)).toMatch(/^before\n\[bash: interrupted/);
    expect(text(await use('bash', { command: 'echo after' }))).toBe('after');
  });

  it('kills the whole process tree on timeout and starts a fresh shell next time', async () => {
    const marker = `agentry-timeout-${process.pid}-${Date.now()}`;
    const r = await use('bash', { command: `(exec -a ${marker} sleep 300) & (exec -a ${marker} sleep 300) & echo started; wait`, timeout_ms: 1500 });
    expect(r.is_error).toBe(true);
    expect(text(r)).toContain('started');
    expect(text(r)).toContain('timed out after 1500 ms');
    // No process with the marker is left on the host.
    const left = readdirSync('/proc')
      .filter((n) => /^\d+$/.test(n))
      .filter((n) => {
        try {
          return readFileSync(`/proc/${n}/cmdline`, 'utf8').includes(marker);
        } catch {
          return false;
        }
      });
    expect(left).toEqual([]);
    // The fresh shell starts over: FOO (set earlier) is gone, the cwd is /workspace again.
    const next = await use('bash', { command: 'echo "FOO=$FOO"; pwd' });
    expect(text(next)).toBe('FOO=\n/workspace');
  });

  it('cuts huge output, keeping its start and end, and says so', async () => {
    const r = await use('bash', { command: 'echo FIRST; head -c 5000000 /dev/zero | tr "\\0" x; echo; echo LAST' });
    const t = text(r);
    expect(r.is_error).toBe(false);
    expect(t.length).toBeLessThan(102_000);
    expect(t.startsWith('FIRST')).toBe(true);
    expect(t.endsWith('LAST')).toBe(true);
    expect(t).toMatch(/output truncated: \d+ characters in the middle were left out/);
  });

  it('reports exit codes, a shell that exits, restart and bad input as results', async () => {
    const fail = await use('bash', { command: 'echo oops >&2; exit_code() { return 3; }; exit_code' });
    expect(fail).toMatchObject({ is_error: true });
    expect(text(fail)).toBe('oops\n[exit code: 3]');
    const exited = await use('bash', { command: 'exit 4' });
    expect(text(exited)).toContain('the shell exited (code 4)');
    expect(text(await use('bash', { command: 'echo back' }))).toBe('back');
    expect(text(await use('bash', { restart: true }))).toBe('bash: the shell was restarted');
    expect(await use('bash', {})).toMatchObject({ is_error: true, content: [{ text: expect.stringMatching(/command is required/) }] });
    expect(text(await use('bash', { command: 42 }))).toMatch(/command must be a string/);
    expect(text(await use('bash', { command: 'true', timeout_ms: 10_000_000 }))).toMatch(/timeout_ms must be from 1 to 600000/);
    expect(text(await use('bash', 'ls'))).toMatch(/input must be a JSON object/);
    // The framing cannot be broken by the command's own text.
    expect(text(await use('bash', { command: "printf '%s\\n' '}' \"'\" '\"'" }))).toBe('}\n\'\n"');
  });

  it('refuses path escapes in the file tools: .., absolute paths outside, symlinks out', async () => {
    await use('bash', { command: 'ln -sf /etc/passwd /workspace/passwd; ln -sfn / /workspace/rootlink; ln -sf ../../../../../../../../etc/hostname /workspace/rel' });
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['read', { file_path: '../secret.txt' }, /paths with "\.\." are refused/],
      ['read', { file_path: '/etc/passwd' }, /outside the workspace/],
      ['read', { file_path: join(dataDir, 'agentry.db') }, /outside the workspace/],
      ['read', { file_path: 'passwd' }, /leads outside the workspace/],
      ['read', { file_path: 'rootlink/etc/shadow' }, /leads outside the workspace/],
      ['read', { file_path: 'rel' }, /leads outside/],
      ['write', { file_path: 'rootlink/tmp/x', content: 'x' }, /leads outside the workspace/],
      ['write', { file_path: '/tmp/x', content: 'x' }, /outside the workspace/],
      ['edit', { file_path: 'passwd', old_string: 'root', new_string: 'toor' }, /leads outside/],
      ['glob', { pattern: '../*' }, /"\.\." is not allowed/],
      ['glob', { pattern: '/etc/*' }, /must be relative/],
      ['glob', { pattern: '*', path: '/etc' }, /outside the workspace/],
      ['grep', { pattern: 'root', path: '/etc' }, /outside the workspace/],
      ['grep', { pattern: 'root', path: 'rootlink/etc' }, /leads outside/],
    ];
    for (const [tool, input, message] of cases) {
      const r = await use(tool, input);
      expect(r.is_error, `${tool} ${JSON.stringify(input)}: ${text(r)}`).toBe(true);
      expect(text(r), `${tool} ${JSON.stringify(input)}`).toMatch(message);
    }
    // glob and grep walking /workspace do not follow the links out.
    expect(text(await use('glob', { pattern: '**/passwd' }))).not.toContain('/etc');
    const g = await use('grep', { pattern: 'root:' });
    expect(text(g)).not.toContain('root:x');
  });

  it('write, read and edit: unique match required, clear errors otherwise', async () => {
    expect(text(await use('write', { file_path: 'src/a.txt', content: 'one\ntwo\ntwo\nthree\n' }))).toBe('wrote 18 bytes to /workspace/src/a.txt');
    expect(text(await use('read', { file_path: '/workspace/src/a.txt' }))).toBe('one\ntwo\ntwo\nthree\n');
    expect(text(await use('read', { file_path: 'src/a.txt', view_range: [2, 3] }))).toBe('two\ntwo');
    expect(text(await use('read', { file_path: 'src/a.txt', view_range: [3, -1] }))).toBe('two\nthree\n');
    const dup = await use('edit', { file_path: 'src/a.txt', old_string: 'two', new_string: '2' });
    expect(dup.is_error).toBe(true);
    expect(text(dup)).toMatch(/occurs 2 times in \/workspace\/src\/a\.txt; it must occur exactly once/);
    const missing = await use('edit', { file_path: 'src/a.txt', old_string: 'four', new_string: '4' });
    expect(text(missing)).toMatch(/was not found in \/workspace\/src\/a\.txt/);
    expect(text(await use('edit', { file_path: 'src/a.txt', old_string: 'one', new_string: '$&1' }))).toBe('edited /workspace/src/a.txt: 1 replacement');
    expect(text(await use('edit', { file_path: 'src/a.txt', old_string: 'two', new_string: '2', replace_all: true }))).toBe('edited /workspace/src/a.txt: 2 replacements');
    expect(text(await use('bash', { command: 'cat src/a.txt', timeout_ms: 0 }))).toBe('$&1\n2\n2\nthree');
    expect(text(await use('edit', { file_path: 'src/a.txt', old_string: '', new_string: 'x' }))).toMatch(/must not be empty/);
    expect(text(await use('edit', { file_path: 'nope.txt', old_string: 'a', new_string: 'b' }))).toMatch(/no such file/);
    expect(text(await use('edit', { file_path: 'src/a.txt', new_string: 'b' }))).toMatch(/old_string is required/);
    expect(text(await use('read', { file_path: 'src' }))).toMatch(/is a directory/);
    expect(text(await use('read', { file_path: 'src/a.txt', view_range: [1] }))).toMatch(/view_range must be/);
    expect(text(await use('read', { file_path: 'src/a.txt', extra: 1 }))).toMatch(/unknown field extra/);
    await use('bash', { command: 'head -c 300000 /dev/zero | tr "\\0" "a" > big.txt; printf "a\\0b" > bin.dat' });
    expect(text(await use('read', { file_path: 'big.txt' }))).toMatch(/more than the 262144-byte limit.*view_range/);
    expect(text(await use('read', { file_path: 'bin.dat' }))).toMatch(/binary file/);
  });

  it('glob sorts newest first; grep finds lines by regex with sandbox paths', async () => {
    await use('bash', { command: 'mkdir -p g/sub g/node_modules/x && echo "const a = 1" > g/old.ts && sleep 1.1 && echo "let b = 22" > g/sub/new.ts && echo "const z" > g/node_modules/x/i.ts' });
    expect(text(await use('glob', { pattern: '**/*.ts', path: 'g' }))).toBe('/workspace/g/sub/new.ts\n/workspace/g/old.ts');
    expect(text(await use('glob', { pattern: '*.md', path: '/mnt/skills/pdf' }))).toBe('/mnt/skills/pdf/SKILL.md');
    expect(text(await use('glob', { pattern: '*.none' }))).toMatch(/no files match/);
    expect(text(await use('grep', { pattern: '\\b\\d{2}\\b', path: 'g' }))).toBe('/workspace/g/sub/new.ts:1:let b = 22');
    expect(text(await use('grep', { pattern: 'const', path: 'g' }))).toBe('/workspace/g/old.ts:1:const a = 1');
    expect(text(await use('grep', { pattern: 'nothing-here', path: 'g' }))).toMatch(/no matches/);
    const bad = await use('grep', { pattern: '(unclosed', path: 'g' });
    expect(bad.is_error).toBe(true);
    expect(text(bad)).toMatch(/grep: .*(unmatched|missing)/i);
  });

  it('refuses disabled and unknown tools, and honours per-tool config', async () => {
    const tools = resolveBuiltinToolset([
      {
        type: 'agent_toolset_20260401',
        default_config: { enabled: true, permission_policy: { type: 'always_ask' } },
        configs: [
          { name: 'bash', enabled: false },
          { name: 'read', permission_policy: { type: 'always_allow' } },
        ],
      },
    ]);
    expect(tools.map((t) => [t.name, t.permission])).toEqual([
      ['read', 'always_allow'],
      ['write', 'always_ask'],
      ['edit', 'always_ask'],
      ['glob', 'always_ask'],
      ['grep', 'always_ask'],
      ['web_fetch', 'always_ask'],
    ]);
    const limitedBox = await runtime.open({ sessionId: 'sesn_cfg', tools, networking: { type: 'none' } });
    expect(text(await use('bash', { command: 'id' }, limitedBox))).toBe('bash: this tool is disabled for this agent');
    expect(text(await use('web_search', { query: 'x' }, limitedBox))).toMatch(/no such built-in tool/);
    await limitedBox.close();
  });

  it('web_fetch goes through the egress policy and the tool domain lists, HTML as text', async () => {
    const r = await use('web_fetch', { url: `http://allowed.test:${port}/page` });
    expect(r.is_error, text(r)).toBe(false);
    expect(text(r)).toMatch(/^URL: http:\/\/allowed\.test:\d+\/page\nStatus: 200\nContent-Type: text\/html/);
    expect(text(r)).toContain('TITLE');
    expect(text(r)).toContain('Hello link');
    expect(text(r)).not.toContain('evil');
    expect(text(await use('web_fetch', { url: `http://allowed.test:${port}/bin` }))).toMatch(/application\/octet-stream, which web_fetch does not turn into text/);
    expect(text(await use('web_fetch', { url: 'file:///etc/passwd' }))).toMatch(/only http and https/);
    expect(text(await use('web_fetch', { url: 'not a url' }))).toMatch(/is not a URL/);
    // A policy without the loopback exception refuses it, with the policy's one message.
    const strict = new EgressPolicy({ resolve: resolver });
    const strictRuntime = new LocalToolRuntime({ baseDir: join(dataDir, 'workspaces'), sandbox: new BubblewrapSandbox({ egress: strict }), fetch: strict.fetch });
    const sb = await strictRuntime.open({ sessionId: 'sesn_strict', tools: ALL_TOOLS, networking: { type: 'none' } });
    expect(text(await use('web_fetch', { url: `http://allowed.test:${port}/` }, sb))).toMatch(/could not be reached/);
    // allowed_domains is checked on every redirect hop.
    const onlyAllowed = resolveBuiltinToolset([{ type: 'agent_toolset_20260401', configs: [{ name: 'web_fetch', allowed_domains: ['allowed.test'] }] }]);
    const db = await runtime.open({ sessionId: 'sesn_domains', tools: onlyAllowed, networking: { type: 'none' } });
    expect(text(await use('web_fetch', { url: `http://allowed.test:${port}/redirect` }, db))).toMatch(/denied\.test is not in this tool's allowed_domains/);
    expect(text(await use('web_fetch', { url: `http://denied.test:${port}/` }, db))).toMatch(/not in this tool's allowed_domains/);
  });

  it('refuses bad mounts and session ids when opening', async () => {
    const refusal = async (spec: Parameters<LocalToolRuntime['open']>[0]) => {
      try {
        await runtime.open(spec);
      } catch (e) {
        if (isAgentryError(e)) return e.details.join('\n');
        throw e;
      }
      throw new Error('opened');
    };
    const base = { tools: ALL_TOOLS, networking: { type: 'none' } as ToolNetwork };
    expect(await refusal({ ...base, sessionId: '../x' })).toMatch(/is not a session id/);
    expect(await refusal({ ...base, sessionId: 's1', mounts: [{ type: 'file', path: '/etc/x', content: '' }] })).toMatch(/must be inside \/workspace or \/mnt/);
    expect(await refusal({ ...base, sessionId: 's1', mounts: [{ type: 'file', path: '/mnt/../etc/x', content: '' }] })).toMatch(/"\.\." segment/);
    expect(await refusal({ ...base, sessionId: 's1', mounts: [{ type: 'directory', path: '/mnt/a', files: [{ path: '../../x', content: '' }], writable: true }] })).toMatch(
      /must stay inside its folder/,
    );
    expect(await refusal({ ...base, sessionId: 's1', mounts: [{ type: 'file', path: '/mnt/a:b', content: '' }] })).toMatch(/characters a mount path cannot have/);
    expect(await refusal({ ...base, sessionId: 's1', networking: { type: 'limited', allowedHosts: ['http://x/'] } })).toMatch(/allowed_hosts/);
  });

  it('removes a workspace on destroy', async () => {
    const b = await boxWith('sesn_gone', { type: 'none' });
    await use('write', { file_path: 'x', content: 'y' }, b);
    await b.close();
    expect(existsSync(join(dataDir, 'workspaces', 'sesn_gone'))).toBe(true);
    await runtime.destroy('sesn_gone');
    expect(existsSync(join(dataDir, 'workspaces', 'sesn_gone'))).toBe(false);
  });
});

describe('built-in toolset without a sandbox', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = realpathSync(mkdtempSync(join(tmpdir(), 'agentry-tools-nobwrap-')));
    mkdirSync(join(dataDir, 'w'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
  const egress = new EgressPolicy();
  const noBwrap = new BubblewrapSandbox({ bwrapPath: '/nonexistent/bwrap', egress });

  it('refuses bash and says why, but keeps the file tools', async () => {
    const runtime = new LocalToolRuntime({ baseDir: join(dataDir, 'w'), sandbox: noBwrap, fetch: egress.fetch });
    expect(await runtime.status()).toMatchObject({ bash: 'unavailable', message: expect.stringMatching(/--unsafe-local-tools/) });
    const b = await runtime.open({ sessionId: 's', tools: ALL_TOOLS, networking: { type: 'none' } });
    const r = await b.execute({ id: 't', name: 'bash', input: { command: 'id' } });
    expect(r.is_error).toBe(true);
    expect(text(r)).toMatch(/bash is unavailable: .*not an executable file.*--unsafe-local-tools/);
    expect((await b.execute({ id: 't', name: 'write', input: { file_path: 'a', content: 'b' } })).is_error).toBe(false);
  });

  it('runs bash on the host with --unsafe-local-tools, and says so', async () => {
    const runtime = new LocalToolRuntime({ baseDir: join(dataDir, 'w'), sandbox: noBwrap, fetch: egress.fetch, unsafeLocalTools: true });
    expect(await runtime.status()).toMatchObject({ bash: 'unsafe', message: expect.stringMatching(/WARNING: no sandbox/) });
    const b = await runtime.open({ sessionId: 'u', tools: ALL_TOOLS, networking: { type: 'none' } });
    const r = await b.execute({ id: 't', name: 'bash', input: { command: 'echo hi > f.txt; cat f.txt; basename "$PWD"' } });
    expect(text(r)).toBe('hi\nworkspace');
    const t = await b.execute({ id: 't', name: 'bash', input: { command: 'sleep 30', timeout_ms: 500 } });
    expect(text(t)).toMatch(/timed out after 500 ms/);
    await b.close();
    symlinkSync('/etc/passwd', join(dataDir, 'w', 'u', 'root', 'workspace', 'p'));
    expect(text(await b.execute({ id: 't', name: 'read', input: { file_path: 'p' } }))).toMatch(/leads outside/);
  });
});
