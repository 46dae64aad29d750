import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { CliWorkspace, assertBuilt } from './cli-harness.js';

/** Every file under `dir` whose name is `name`. */
const findFile = (dir: string, name: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? findFile(p, name) : e.name === name ? [p] : [];
  });

describe('failures: one clear line on stderr and the exit code of their kind', () => {
  let server: TestServer;
  let ws: CliWorkspace;

  beforeAll(async () => {
    assertBuilt();
    server = await startTestServer();
    ws = new CliWorkspace(server.url);
    const alice = await ws.json<{ token: string }>(['user', 'add', 'alice', '--token', server.adminToken]);
    await ws.ok(['login', '--token', alice.token]);
    await ws.ok(['init', 'pkg', '--kind', 'agent', '--name', 'pkg', '--scope', 'alice']);
    await ws.ok(['publish', 'pkg']);
  });
  afterAll(async () => {
    ws?.cleanup();
    await server?.close();
  });

  /** Exit codes: 1 failure, 2 usage, 3 auth, 4 not found, 5 conflict, 6 network (src/cli/exit-codes.ts). */
  const fails = async (args: string[], stderr: string | RegExp, opts: { cwd?: string; code?: number } = {}): Promise<void> => {
    const r = await ws.run(args, opts);
    expect(r.code).toBe(opts.code ?? 1);
    expect(r.stdout).toBe('');
    if (typeof stderr === 'string') expect(r.stderr).toBe(stderr);
    else expect(r.stderr).toMatch(stderr);
  };

  it('a bad token', async () => {
    await fails(['whoami', '--token', 'agentry_nottherightoneatallxxxxxxxxxxxxxxxxxxxxxxx'], "agentry: Invalid token (run 'agentry login' again or pass another --token)\n", { code: 3 });
    await fails(['token', 'list', '--token', 'garbage'], "agentry: Invalid token (run 'agentry login' again or pass another --token)\n", { code: 3 });
  });

  it('mcp client register --self: with --group, a bad token, a server without /mcp', async () => {
    const home = ['--home', ws.path('clients-home')];
    await fails(['mcp', 'client', 'register', 'cursor', '--self', '--group', 'default', ...home], "agentry: --self and --group do not go together: the server's own endpoint belongs to no group\n", {
      code: 2,
    });
    await fails(
      ['mcp', 'client', 'register', 'cursor', '--self', '--token', 'agentry_nottherightoneatallxxxxxxxxxxxxxxxxxxxxxxx', ...home],
      /^agentry: Invalid token \(run 'agentry login' again or pass another --token\)\n$/,
      {
        code: 3,
      },
    );
    await fails(
      ['mcp', 'client', 'register', 'cursor', '--self', '--registry', `${server.url}/elsewhere`, ...home],
      `agentry: ${server.url}/elsewhere serves no MCP endpoint at /mcp (is it an Agentry of this version?)\n`,
      {
        code: 4,
      },
    );
    expect(existsSync(ws.path('clients-home'))).toBe(false);
  });

  it('a2a import: no card or two, an unreadable or non-JSON file, a bad card (each field), a refused URL', async () => {
    const either = 'agentry: give the agent card as a URL or with --file, not both\n';
    await fails(['a2a', 'import'], either, { code: 2 });
    await fails(['a2a', 'import', 'https://agent.example/.well-known/agent-card.json', '--file', ws.path('card.json')], either, { code: 2 });
    await fails(['a2a', 'import', '--file', ws.path('missing-card.json')], `agentry: cannot read ${ws.path('missing-card.json')}: ENOENT\n`);
    writeFileSync(ws.path('not-json.json'), 'name: yaml');
    await fails(['a2a', 'import', '--file', ws.path('not-json.json')], `agentry: ${ws.path('not-json.json')} is not JSON (an A2A agent card is a JSON document)\n`);
    writeFileSync(
      ws.path('bad-card.json'),
      JSON.stringify({
        name: 'x',
        description: 'd',
        url: 'https://a.example/a2a',
        version: '1.0.0',
        protocolVersion: '0.3.0',
        capabilities: {},
        defaultInputModes: [],
        defaultOutputModes: [],
        skills: [{ id: 's' }],
      }),
    );
    await fails(
      ['a2a', 'import', '--file', ws.path('bad-card.json')],
      /^agentry: Invalid A2A agent card\n {2}card\.skills\[0\]\.name: missing required field\n {2}card\.skills\[0\]\.description: missing required field\n {2}card\.skills\[0\]\.tags: missing required field\n$/,
    );
    await fails(
      ['a2a', 'import', 'http://10.1.2.3/.well-known/agent-card.json'],
      /^agentry: Agent card URL refused\n {2}url: the egress policy refuses 10\.1\.2\.3 \(an operator allows it with --egress-allow\)\n$/,
    );
  });

  it('an unknown package or version', async () => {
    await fails(['info', '@alice/nope'], 'agentry: Package not found (@alice/nope)\n', { code: 4 });
    await fails(['versions', '@nobody/nope'], 'agentry: Package not found (@nobody/nope)\n', { code: 4 });
    await fails(['pull', '@alice/pkg@9.9.9', '--out', 'x'], /^agentry: .*not found.*\(@alice\/pkg@9\.9\.9\)\n$/i, { code: 4 });
    expect(existsSync(ws.path('x'))).toBe(false);
  });

  it('webhooks: a bad URL, an unknown event, a private address, no events, both owners, an unknown webhook, a user not managed', async () => {
    const url = 'https://hooks.example.com/agentry';
    await fails(['webhook', 'add', 'not-a-url', '--event', 'package.published'], /^agentry: url must be an absolute http\(s\) URL\n$/);
    await fails(['webhook', 'add', url, '--event', 'package.published,package.exploded'], /^agentry: Unknown event: package\.exploded\n {2}known events: package\.published, /);
    await fails(
      ['webhook', 'add', 'http://192.168.1.10/hook', '--event', 'package.published'],
      /^agentry: url is refused: the egress policy refuses private addresses\n {2}allow the address with --egress-allow/,
    );
    await fails(['webhook', 'add', url], /^agentry: name the events to send with --event/, { code: 2 });
    await fails(['webhook', 'ls', '--org', 'a', '--user', 'b'], 'agentry: give --org or --user, not both\n', { code: 2 });
    await fails(['webhook', 'deliveries', 'wh_nope', '--replay', 'nope'], /^agentry: Webhook not found: wh_nope/, { code: 4 });
    await fails(['webhook', 'ls', '--user', 'admin'], /^agentry: Only @admin or an administrator can manage this\n$/, { code: 3 });
    // For contrast: a generated secret is printed once, and never listed.
    const added = await ws.json<{ id: string; secret: string }>(['webhook', 'add', url, '--event', 'package.deprecated']);
    expect(added.secret).toMatch(/^whsec_/);
    const listed = await ws.ok(['webhook', 'ls']);
    expect(listed).toContain(added.id);
    expect(listed).not.toContain(added.secret);
  });

  it('a server that is down', async () => {
    // A port nothing listens on any more (a whole server started and stopped for it costs a server start).
    const url = await new Promise<string>((resolve, reject) => {
      const s = createServer().on('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const { port } = s.address() as AddressInfo;
        s.close(() => resolve(`http://127.0.0.1:${port}`));
      });
    });
    await fails(['search', 'x', '--registry', url], `agentry: cannot reach the registry at ${url} (ECONNREFUSED)\n`, { code: 6 });
    await fails(['login', '--registry', url, '--token', 'agentry_x'], `agentry: cannot reach the registry at ${url} (ECONNREFUSED)\n`, { code: 6 });
  });

  it('a publish the server refuses, with its details indented', async () => {
    mkdirSync(ws.path('bad'));
    writeFileSync(ws.path('bad', 'agent.yaml'), 'name: bad\nversion: 1.0.0\ndescription: x\nauthor: "@alice"\ncolour: blue\n');
    await fails(['publish', 'bad'], "agentry: Validation failed\n  agent.yaml: unknown field 'colour'\n");
    writeFileSync(ws.path('bad', 'agent.yaml'), 'name: bad\nversion: 1.0.0\ndescription: x\nauthor: "@bob"\n');
    await fails(['publish', 'bad'], /^agentry: .+\n$/, { code: 3 });
    await fails(['publish', 'bad', '--scope', 'carol'], 'agentry: agent.yaml publishes to @bob, not @carol; change the manifest or drop --scope\n');
  });

  it("a tarball over the server's limit", async () => {
    const small = await startTestServer({ limits: { maxTarballBytes: 64 * 1024 } });
    try {
      await ws.ok(['init', 'big', '--kind', 'agent', '--name', 'big', '--scope', 'admin']);
      writeFileSync(ws.path('big', 'blob.bin'), randomBytes(1024 * 1024));
      const r = await ws.run(['publish', 'big', '--registry', small.url, '--token', small.adminToken]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^agentry: .*too large/i);
    } finally {
      await small.close();
    }
  });

  it('commands that need a token without one', async () => {
    const anon = new CliWorkspace(server.url);
    try {
      await anon.ok(['init', 'p', '--kind', 'skill', '--name', 'p']);
      const r = await anon.run(['publish', 'p']);
      expect(r.code).toBe(3);
      expect(r.stderr).toBe(`agentry: not logged in to ${server.url}: run 'agentry login' or pass --token\n`);
      // reads need none
      expect(await anon.json(['info', '@alice/pkg'])).toMatchObject({ full_name: '@alice/pkg' });
    } finally {
      anon.cleanup();
    }
  });

  it('pull refuses an existing folder before downloading anything', async () => {
    mkdirSync(ws.path('taken'));
    await fails(['pull', '@alice/pkg', '--out', 'taken'], `agentry: ${ws.path('taken')} already exists; remove it or choose another folder with --out\n`);
    const info = await ws.json<{ download_count: number }>(['info', '@alice/pkg']);
    expect(info.download_count).toBe(0);
  });

  it('pull verifies the sha256 and leaves nothing behind when it does not match', async () => {
    const { versions } = await ws.json<{ versions: { sha256: string }[] }>(['versions', '@alice/pkg']);
    const [blob] = findFile(server.dataDir, versions[0].sha256);
    expect(blob).toBeDefined();
    const bytes = readFileSync(blob);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(blob, bytes);
    const before = readdirSync(ws.cwd).sort();
    await fails(['pull', '@alice/pkg', '--out', 'corrupt'], /^agentry: sha256 mismatch: expected [0-9a-f]{64}, got [0-9a-f]{64}; the tarball is corrupt or was tampered with\n$/);
    expect(readdirSync(ws.cwd).sort()).toEqual(before);
    writeFileSync(blob, Buffer.concat([readFileSync(blob), Buffer.from('extra bytes')]));
    await fails(['pull', '@alice/pkg', '--out', 'long'], /^agentry: the tarball is larger than the \d+ bytes the registry announced; refusing it\n$/);
    expect(readdirSync(ws.cwd).sort()).toEqual(before);
    writeFileSync(blob, bytes.subarray(0, bytes.length - 10));
    await fails(['pull', '@alice/pkg', '--out', 'short'], /^agentry: the tarball is \d+ bytes but the registry announced \d+; refusing it\n$/);
    expect(readdirSync(ws.cwd).sort()).toEqual(before);
  });

  it('local mistakes: init over a manifest, pack without one, a symlink leaving the folder', async () => {
    await fails(['init', 'pkg', '--kind', 'recipe', '--name', 'pkg'], `agentry: ${ws.path('pkg', 'agent.yaml')} already exists; refusing to overwrite it\n`);
    mkdirSync(ws.path('empty'));
    await fails(['pack', 'empty'], /^agentry: no manifest in .*empty: expected one of agent\.yaml, SKILL\.md, server\.json, recipe\.yaml \(create one with 'agentry init'\)\n$/);
    await ws.ok(['init', 'linky', '--kind', 'recipe', '--name', 'linky']);
    symlinkSync('/etc/passwd', ws.path('linky', 'passwd'));
    await fails(['pack', 'linky'], "agentry: refusing to pack symlink 'passwd' -> '/etc/passwd': it points outside the folder (use a relative link inside the package)\n");
    expect(statSync(ws.path('linky')).isDirectory()).toBe(true);
  });

  it('usage errors', async () => {
    const usage = { code: 2 };
    await fails(['frobnicate'], "agentry: unknown command 'frobnicate'\n", usage);
    await fails(['publsh'], "agentry: unknown command 'publsh' (Did you mean publish?)\n", usage);
    await fails(['search'], "agentry: missing required argument 'query'\n", usage);
    await fails(['init', '--kind', 'widget', '--name', 'x'], /^agentry: option '--kind <kind>' argument 'widget' is invalid\. Allowed choices are agent, skill, mcp-server, recipe\.\n$/, usage);
    await fails(['info', 'not-a-package'], "agentry: invalid package 'not-a-package': expected @scope/name\n", usage);
    await fails(['search', 'x', '--limit', 'lots'], /^agentry: option '--limit <n>' argument 'lots' is invalid\. expected a whole number of at least 1\n$/, usage);
    await fails(['search', 'x', '--mode', 'fuzzy'], /^agentry: option '--mode <mode>' argument 'fuzzy' is invalid\. Allowed choices are keyword, semantic, hybrid\.\n$/, usage);
    await fails(['whoami', '--registry', 'ftp://x'], "agentry: invalid registry URL 'ftp://x': only http and https are supported\n", usage);
  });

  it('semantic search on a server without embeddings', async () => {
    await fails(
      ['search', 'kitten', '--mode', 'semantic'],
      /^agentry: Semantic search is not configured on this server: mode=semantic needs an embeddings endpoint \(--embeddings-url\); use mode=keyword\n$/,
    );
  });

  it('mirror add, update, ls and rm: the password from the environment, never on the command line or in the output; the visibility checked', async () => {
    const admin = ['--token', server.adminToken];
    const usage = { code: 2 };
    await fails(['mirror', 'add', 'npm', 'x', '--url', 'https://example.com', ...admin], "agentry: unknown mirror kind 'npm': use mcp, oci or agentry\n", usage);
    await fails(['mirror', 'add', 'oci', 'x', '--url', 'https://example.com', '--username', 'u', ...admin], 'agentry: --username and --password-env go together\n', usage);
    await fails(
      ['mirror', 'add', 'oci', 'x', '--url', 'https://example.com', '--username', 'u', '--password-env', 'AGENTRY_TEST_NOT_SET', ...admin],
      'agentry: the environment variable AGENTRY_TEST_NOT_SET (--password-env) is not set\n',
      usage,
    );
    await fails(
      ['mirror', 'add', 'oci', 'x', '--url', 'https://example.com', '--ttl', 'soon', ...admin],
      /^agentry: option '--ttl <duration>' argument 'soon' is invalid\. expected a duration/,
      usage,
    );
    await fails(['mirror', 'add', 'oci', 'x'], "agentry: required option '--url <url>' not specified\n", usage);
    await fails(['mirror', 'add', 'oci', 'Bad!', '--url', 'https://example.com', ...admin], /^agentry: Invalid mirror\n {2}name 'Bad!' must be/);
    await fails(['mirror', 'ls'], "agentry: This token has 'publish' permission; this action needs 'admin'\n", { code: 3 });
    await fails(['mirror', 'rm', 'nope', ...admin], 'agentry: No mirror named nope\n', { code: 4 });
    const secret = `pw-${randomBytes(8).toString('hex')}`;
    const added = await ws.run(['mirror', 'add', 'oci', 'up', '--url', 'https://registry.example.com', '--username', 'bot', '--password-env', 'UP_PASSWORD', '--ttl', '10m', ...admin], {
      env: { UP_PASSWORD: secret },
    });
    expect(added.code).toBe(0);
    // With a login, private unless told otherwise.
    expect(added.stdout).toBe('Added mirror up  oci  https://registry.example.com  (as bot, password in the secret store)  ttl 600s  private\n');
    await fails(
      ['mirror', 'add', 'oci', 'x', '--url', 'https://example.com', '--visibility', 'everyone', ...admin],
      /^agentry: option '--visibility <visibility>' argument 'everyone' is invalid\. expected one of public, internal, private/,
      usage,
    );
    await fails(['mirror', 'update', 'up', ...admin], 'agentry: nothing to change: give --visibility or --ttl\n', usage);
    await fails(['mirror', 'update', 'up', '--visibility', 'secret', ...admin], /^agentry: option '--visibility <visibility>' argument 'secret' is invalid/, usage);
    await fails(['mirror', 'update', 'nope', '--visibility', 'public', ...admin], 'agentry: No mirror named nope\n', { code: 4 });
    await fails(['mirror', 'update', 'up', '--visibility', 'public'], "agentry: This token has 'publish' permission; this action needs 'admin'\n", { code: 3 });
    expect((await ws.run(['mirror', 'update', 'up', '--visibility', 'internal', '--ttl', '1h', ...admin])).stdout).toBe(
      'Updated mirror up  oci  https://registry.example.com  (as bot, password in the secret store)  ttl 3600s  internal\n',
    );
    await fails(['mirror', 'add', 'oci', 'up', '--url', 'https://registry.example.com', ...admin], /^agentry: A mirror named up exists/, { code: 5 });
    const ls = await ws.run(['mirror', 'ls', '--json', ...admin]);
    expect(JSON.parse(ls.stdout)).toEqual([expect.objectContaining({ name: 'up', kind: 'oci', username: 'bot', has_password: true, ttl_seconds: 3600, visibility: 'internal' })]);
    expect(ls.stdout).not.toContain(secret);
    expect((await ws.run(['mirror', 'rm', 'up', ...admin])).stdout).toBe('Mirror up removed\n');
    expect((await ws.run(['mirror', 'ls', ...admin])).stdout).toBe('No mirrors\n');
  });

  it('mirror sync and syncs: conflicting options, an unknown mirror or job, a filter an MCP sync does not take, a bad filter, a failed job (exit 1), an ended job', async () => {
    const admin = ['--token', server.adminToken];
    const usage = { code: 2 };
    await fails(['mirror', 'sync', 'x', '--cancel', 'a', '--follow', 'b', ...admin], 'agentry: --cancel goes alone: it stops a job, it starts or follows none\n', usage);
    await fails(['mirror', 'sync', 'x', '--follow', 'a', '--fresh', ...admin], 'agentry: --follow follows a job already started: --repo, --filter and --fresh are for a new one\n', usage);
    await fails(['mirror', 'sync', 'x', '--repo', 'team/app', '--filter', 'lib/tool:1.*', ...admin], "agentry: with --repo, --filter is the tag pattern alone (no ':')\n", usage);
    await fails(['mirror', 'sync', 'x', '--interval', '5', ...admin], 'agentry: --interval must be a whole number of milliseconds from 50 to 60000\n', usage);
    await fails(['mirror', 'syncs', 'x', '--limit', '0', ...admin], 'agentry: --limit must be a whole number from 1 to 100\n', usage);
    await fails(['mirror', 'sync'], "agentry: missing required argument 'name'\n", usage);
    await fails(['mirror', 'sync', 'nope', ...admin], 'agentry: No mirror named nope\n', { code: 4 });
    await fails(['mirror', 'syncs', 'nope', ...admin], 'agentry: No mirror named nope\n', { code: 4 });
    await fails(['mirror', 'sync', 'nope'], "agentry: This token has 'publish' permission; this action needs 'admin'\n", { code: 3 });

    await ws.ok(['mirror', 'add', 'mcp', 'peer', '--url', 'https://mcp.example.com', ...admin]);
    await fails(['mirror', 'sync', 'peer', '--filter', 'io.github', ...admin], "agentry: MCP mirrors sync the upstream's whole listing; a filter ('io.github') is not taken\n");
    await ws.ok(['mirror', 'add', 'agentry', 'central', '--url', 'https://agentry.example.com', ...admin]);
    await fails(['mirror', 'sync', 'central', '--filter', 'a b', ...admin], /^agentry: Invalid filter 'a b': /);
    // An upstream the egress policy refuses (this server allows no private address): the job fails as a whole.
    await ws.ok(['mirror', 'add', 'oci', 'dead', '--url', 'http://127.0.0.1:9', ...admin]);
    await fails(
      ['mirror', 'sync', 'dead', '--repo', 'Team/App', ...admin],
      /^agentry: Invalid OCI sync filter 'Team\/App': \[repository\[,repository…\]\]\[:tag pattern\]\n {2}'Team\/App' is not a repository name/,
    );
    await fails(['mirror', 'sync', 'dead', '--cancel', 'msync_nope', ...admin], 'agentry: No sync job msync_nope of mirror dead\n', { code: 4 });
    // A repository that cannot be listed is an item that failed: the report on stdout, exit 1.
    const partly = await ws.run(['mirror', 'sync', 'dead', '--repo', 'team/app', '--filter', '1.*', '--interval', '50', ...admin]);
    expect(partly.code).toBe(1);
    expect(partly.stdout).toMatch(/^Sync msync_\w+ of dead succeeded: 0 added, 0 updated, 0 unchanged, 0 removed, 1 failed\n {2}! team\/app: The upstream at http:\/\/127\.0\.0\.1:9 failed: .*\n$/);
    expect(partly.stderr).toMatch(/^Started sync msync_\w+ of dead\n(sync msync_\w+: .*\n)*agentry: 1 of the items to sync failed \(marked !\)\n$/);
    const [job] = await ws.json<{ id: string; status: string; filter: string }[]>(['mirror', 'syncs', 'dead', ...admin]);
    expect(job).toMatchObject({ status: 'succeeded', filter: 'team/app:1.*' });
    expect(await ws.ok(['mirror', 'syncs', 'dead', ...admin])).toMatch(new RegExp(`^ID +STATUS +PROGRESS +FILTER .*\\n${job.id} +succeeded +0/0 +team/app:1\\.\\* `));
    await fails(['mirror', 'sync', 'dead', '--cancel', job.id, ...admin], new RegExp(`^agentry: Sync job ${job.id} has ended \\(succeeded\\); there is nothing to cancel\\n$`), { code: 5 });
    // Without --repo the upstream's catalog is needed: it cannot be read, so the job fails as a whole.
    await fails(
      ['mirror', 'sync', 'dead', '--interval', '50', ...admin],
      /^Started sync msync_\w+ of dead\n(sync msync_\w+: .*\n)*agentry: the sync msync_\w+ of dead failed: The upstream at http:\/\/127\.0\.0\.1:9 failed: /,
    );
    // --json: the job document on stdout, the failure still exit 1.
    const r = await ws.run(['mirror', 'sync', 'dead', '--interval', '50', '--json', ...admin]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ mirror: 'dead', status: 'failed', report: null });
    const started = await ws.run(['mirror', 'sync', 'dead', '--no-wait', ...admin]);
    expect(started.stdout).toMatch(/^msync_\w+\n$/);
    await ws.ok(['mirror', 'rm', 'dead', ...admin]);
    await ws.ok(['mirror', 'rm', 'peer', ...admin]);
  });

  it('signing mistakes: a bad key type, a missing or wrong key file, --sign or --verify half given', async () => {
    await fails(['keygen', '--type', 'rsa'], "agentry: --type must be one of ecdsa-p256, ed25519, not 'rsa'\n");
    await fails(['sign', '@alice/pkg@0.1.0'], "agentry: required option '--key <file>' not specified\n", { code: 2 });
    await fails(['sign', '@alice/pkg@0.1.0', '--key', 'nope.pem'], 'agentry: cannot read the key nope.pem: ENOENT\n');
    writeFileSync(ws.path('not-a-key.pem'), 'hello');
    await fails(['sign', '@alice/pkg@0.1.0', '--key', 'not-a-key.pem'], "agentry: not-a-key.pem is not a PEM private key (make one with 'agentry keygen')\n");
    await fails(['publish', 'pkg', '--sign'], 'agentry: --sign needs --key <private key file>\n');
    await fails(['pull', '@alice/pkg', '--key', 'pub.pem', '--out', 'k'], 'agentry: --key is only used with --verify\n');
    await fails(['pull', '@alice/pkg', '--verify', '--key', 'not-a-key.pem', '--out', 'k'], 'agentry: not-a-key.pem is not a PEM public key\n');
  });

  it('--help exits 0', async () => {
    const r = await ws.run(['publish', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: agentry publish [options] [folder]');
    expect(r.stdout).toContain('--registry <url>');
  });
});

describe('help', () => {
  it('documents every command, with --registry/--token on those that reach a registry', () => {
    const leaves = (cmd: ReturnType<typeof buildProgram>, path: string[] = []): { path: string; help: string }[] =>
      cmd.commands.flatMap((c) => (c.commands.length > 0 ? leaves(c, [...path, c.name()]) : [{ path: [...path, c.name()].join(' '), help: c.helpInformation() }]));
    const all = leaves(buildProgram());
    // `agentry oci …` speaks to any OCI registry, not the native API: test/cli/oci.test.ts checks its help.
    expect(all.map((c) => c.path).filter((p) => !p.startsWith('oci '))).toEqual([
      'serve',
      'login',
      'logout',
      'whoami',
      'init',
      'pack',
      'publish',
      'search',
      'info',
      'versions',
      'pull',
      'keygen',
      'sign',
      'dist-tag add',
      'dist-tag rm',
      'dist-tag ls',
      'deprecate',
      'unpublish',
      'token create',
      'token list',
      'token revoke',
      'user add',
      'org add',
      'org member add',
      'org member rm',
      'org member ls',
      'gc',
      'scope add',
      'scope ls',
      'scope signing',
      'access get',
      'access set',
      'secrets rotate-key',
      'mirror add',
      'mirror update',
      'mirror ls',
      'mirror rm',
      'mirror sync',
      'mirror syncs',
      'recipe list',
      'recipe search',
      'recipe publish',
      'recipe pull',
      'skill validate',
      'skill publish',
      'skill pull',
      'agent publish',
      'mcp run',
      'mcp ls',
      'mcp stop',
      'mcp logs',
      'mcp client ls',
      'mcp client register',
      'mcp client unregister',
      'session run',
      'session ls',
      'session show',
      'session tail',
      'session rm',
      'run',
      'a2a import',
      'eval run',
      'integration ls',
      'integration show',
      'integration add',
      'integration rm',
      'integration publication ls',
      'integration publication add',
      'integration publication rm',
      'webhook add',
      'webhook ls',
      'webhook rm',
      'webhook deliveries',
      'completion',
      'dev-model',
      'runtime',
      'worker',
    ]);
    for (const { path, help } of all) {
      expect(help, path).toMatch(/^Usage: /);
      if (!['serve', 'init', 'pack', 'skill validate', 'dev-model', 'completion', 'runtime', 'mcp client ls', 'keygen'].includes(path) && !path.startsWith('oci ')) {
        expect(help, path).toContain('--registry <url>');
        expect(help, path).toContain('--token <token>');
      }
    }
    const json = all.filter((c) => c.help.includes('--json')).map((c) => c.path);
    expect(json).toEqual(expect.arrayContaining(['whoami', 'pack', 'publish', 'search', 'info', 'versions', 'pull', 'token create', 'token list', 'user add', 'gc', 'access get', 'access set']));
  });
});
