import { readFileSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { CliWorkspace, assertBuilt } from './cli-harness.js';

describe('login, whoami, tokens, users and orgs', () => {
  let server: TestServer;
  let ws: CliWorkspace;
  let aliceToken: string;

  beforeAll(async () => {
    assertBuilt();
    server = await startTestServer();
    ws = new CliWorkspace();
  });
  afterAll(async () => {
    ws?.cleanup();
    await server?.close();
  });

  it('logs in with --token, saving the token and default registry in a 0600 file', async () => {
    const out = await ws.ok(['login', '--registry', server.url, '--token', server.adminToken]);
    expect(out.trim()).toBe(`Logged in to ${server.url} as admin (admin)`);
    expect(statSync(ws.configPath).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(readFileSync(ws.configPath, 'utf8')) as { default_registry: string; registries: Record<string, { token: string }> };
    expect(saved.default_registry).toBe(server.url);
    expect(saved.registries[server.url].token).toBe(server.adminToken);
    // no --registry from here on: the saved default is used
    expect((await ws.ok(['whoami'])).trim()).toBe('admin');
  });

  it('creates a user and prints its token as JSON', async () => {
    const created = await ws.json<{ username: string; is_admin: boolean; token: string }>(['user', 'add', 'alice', '--display-name', 'Alice A', '--email', 'alice@example.com']);
    expect(created).toMatchObject({ username: 'alice', display_name: 'Alice A', is_admin: false });
    expect(created.token).toMatch(/^agentry_/);
    aliceToken = created.token;
    const human = await ws.ok(['user', 'add', 'carol', '--admin']);
    expect(human).toMatch(/^Created user carol \(admin\)\nPublish token \(shown only once\): agentry_\S+\n$/);
  });

  it('shows who the token belongs to, as text and JSON', async () => {
    expect((await ws.ok(['whoami', '--token', aliceToken])).trim()).toBe('alice');
    const who = await ws.json<{ username: string; is_admin: boolean; token: { permission: string } }>(['whoami', '--token', aliceToken]);
    expect(who).toMatchObject({ username: 'alice', is_admin: false, scopes: ['@alice'], token: { permission: 'publish' } });
    expect((await ws.ok(['whoami'], { env: { AGENTRY_TOKEN: aliceToken } })).trim()).toBe('alice');
  });

  it('reads the token from stdin when it is not a terminal, and logs out', async () => {
    const other = new CliWorkspace(server.url);
    try {
      const out = await other.ok(['login'], { input: `${aliceToken}\n` });
      expect(out.trim()).toBe(`Logged in to ${server.url} as alice`);
      expect(statSync(other.configPath).mode & 0o777).toBe(0o600);
      expect((await other.ok(['whoami'])).trim()).toBe('alice');
      expect((await other.ok(['logout'])).trim()).toBe(`Logged out of ${server.url}`);
      const after = await other.run(['whoami']);
      expect(after.code).toBe(3);
      expect(after.stderr).toBe(`agentry: not logged in to ${server.url}: run 'agentry login' or pass --token\n`);
      expect((await other.ok(['logout'])).trim()).toBe(`Not logged in to ${server.url}`);
      const empty = await other.run(['login'], { input: '' });
      expect(empty.code).toBe(1);
      expect(empty.stderr).toBe('agentry: no token given: pass --token or type it at the prompt\n');
    } finally {
      other.cleanup();
    }
  });

  it('refuses to save a token the registry rejects', async () => {
    const other = new CliWorkspace(server.url);
    try {
      const r = await other.run(['login', '--token', 'agentry_notARealTokenAtAllxxxxxxxxxxxxxxxxxxxxxxxx']);
      expect(r.code).toBe(3);
      expect(r.stderr).toBe("agentry: Invalid token (run 'agentry login' again or pass another --token)\n");
      expect(() => statSync(other.configPath)).toThrow();
    } finally {
      other.cleanup();
    }
  });

  it('creates, lists and revokes tokens', async () => {
    const created = await ws.json<{ id: number; token: string; name: string; permission: string; scopes: string[] }>([
      'token',
      'create',
      '--token',
      aliceToken,
      '--name',
      'ci',
      '--permission',
      'read',
      '--scope',
      '@alice',
      '--expires-in-days',
      '7',
    ]);
    expect(created).toMatchObject({ name: 'ci', permission: 'read' });
    expect(created.token).toMatch(/^agentry_/);
    expect(created.scopes.map((s) => s.replace(/^@/, ''))).toEqual(['alice']);
    expect((await ws.ok(['whoami', '--token', created.token])).trim()).toBe('alice');

    const human = await ws.ok(['token', 'create', '--token', aliceToken, '--name', 'laptop']);
    expect(human).toMatch(/^Created token \d+ 'laptop' \(publish; scopes: all; expires: never\)\nagentry_\S+\nThis is the only time/);

    const list = await ws.json<{ tokens: { id: number; name: string; revoked_at: string | null }[] }>(['token', 'list', '--token', aliceToken]);
    expect(list.tokens.map((t) => t.name)).toEqual(expect.arrayContaining(['ci', 'laptop']));
    const table = await ws.ok(['token', 'list', '--token', aliceToken]);
    expect(table.split('\n')[0]).toMatch(/^ID\s+NAME\s+PREFIX\s+PERMISSION\s+SCOPES\s+EXPIRES\s+LAST USED\s+STATUS$/);
    expect(table).toMatch(new RegExp(`${created.id}\\s+ci\\s+\\S+\\s+read\\s+@alice`));

    expect((await ws.ok(['token', 'revoke', String(created.id), '--token', aliceToken])).trim()).toBe(`Revoked token ${created.id}`);
    const revoked = await ws.run(['whoami', '--token', created.token]);
    expect(revoked.code).toBe(3);
    expect(revoked.stderr).toBe("agentry: This token has been revoked (run 'agentry login' again or pass another --token)\n");
    const after = await ws.json<{ tokens: { id: number; revoked_at: string | null }[] }>(['token', 'list', '--token', aliceToken]);
    expect(after.tokens.find((t) => t.id === created.id)?.revoked_at ?? 'gone').not.toBeNull();
  });

  it('creates runtime tokens for one account, or for all accounts on purpose', async () => {
    const as = ['--registry', server.url, '--token', server.adminToken];
    const forAlice = await ws.json<{ permission: string; account: string; all_accounts: boolean }>(['token', 'create', ...as, '--runtime', '--account', '@alice', '--name', 'worker']);
    expect(forAlice).toMatchObject({ permission: 'runtime', account: 'alice', all_accounts: false });
    const own = await ws.ok(['token', 'create', ...as, '--runtime', '--name', 'mine']);
    expect(own).toMatch(/^Created token \d+ 'mine' \(runtime for @admin; scopes: all; expires: never\)\n/);
    const wide = await ws.ok(['token', 'create', ...as, '--runtime', '--all-accounts', '--name', 'fleet']);
    expect(wide).toMatch(/^Created token \d+ 'fleet' \(runtime for ALL accounts; /);
    expect(await ws.ok(['token', 'list', ...as])).toMatch(/fleet\s+\S+\s+runtime \(all accounts\)/);
    for (const [args, message] of [
      [['--all-accounts'], /--account and --all-accounts are for runtime tokens: add --runtime/],
      [['--account', 'alice', '--permission', 'read'], /are for runtime tokens/],
      [['--runtime', '--account', 'alice', '--all-accounts'], /either --account or --all-accounts/],
      [['--runtime', '--permission', 'read'], /cannot be combined with --permission read/],
    ] as const) {
      const r = await ws.run(['token', 'create', '--name', 'x', ...args]);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr).toMatch(message);
    }
    const refused = await ws.run(['token', 'create', '--registry', server.url, '--runtime', '--token', aliceToken]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/Only an administrator/);
  }, 90_000);

  it('creates an organisation and manages its members', async () => {
    const org = await ws.json<{ name: string; members: { username: string; role: string }[] }>(['org', 'add', 'acme', '--owner', 'alice', '--display-name', 'Acme']);
    expect(org).toMatchObject({ name: 'acme', display_name: 'Acme', members: [{ username: 'alice', role: 'owner' }] });
    const added = await ws.ok(['org', 'member', 'add', 'acme', 'carol', '--token', aliceToken]);
    expect(added).toContain('carol is now a maintainer of @acme');
    const ls = await ws.ok(['org', 'member', 'ls', 'acme']);
    expect(ls).toMatch(/USERNAME\s+ROLE\nalice\s+owner\ncarol\s+maintainer/);
    expect(await ws.ok(['org', 'member', 'add', 'acme', 'carol', '--role', 'member', '--token', aliceToken])).toContain('carol is now a member of @acme');
    const badRole = await ws.run(['org', 'member', 'add', 'acme', 'carol', '--role', 'developer', '--token', aliceToken]);
    expect(badRole.code).not.toBe(0);
    await ws.ok(['org', 'member', 'add', 'acme', 'carol', '--role', 'owner', '--token', aliceToken]);
    const members = await ws.json<{ members: { username: string; role: string }[] }>(['org', 'member', 'ls', 'acme']);
    expect(members.members).toEqual(expect.arrayContaining([{ username: 'carol', role: 'owner' }]));
    const removed = await ws.json<{ members: { username: string }[] }>(['org', 'member', 'rm', 'acme', 'carol']);
    expect(removed.members.map((m) => m.username)).toEqual(['alice']);
    const missing = await ws.run(['org', 'member', 'ls', 'nope']);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(/^agentry: .*not found.*\(@nope\)\n$/i);
  });
});
