import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerRegistryAvailable, dockerRegistryRequired, startDockerRegistry, type DockerRegistry } from '../helpers/docker-registry.js';
import { CliWorkspace, assertBuilt } from './cli-harness.js';

/** `agentry oci push|pull|tags|repos|inspect|copy|rm` against a real docker-registry (distribution v2.8). */
const run = dockerRegistryAvailable() || dockerRegistryRequired();
if (!run) console.warn('skipping the agentry oci CLI tests: docker-registry is not installed (apt-get install -y docker-registry)');

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface PushJson {
  reference: string;
  digest: string;
  artifactType: string;
  size: number;
  files: { title: string; digest: string; size: number; mediaType: string; outcome: string }[];
}

describe.skipIf(!run)('agentry oci against docker-registry', () => {
  let reg: DockerRegistry;
  let ws: CliWorkspace;

  beforeAll(async () => {
    assertBuilt();
    reg = await startDockerRegistry();
    ws = new CliWorkspace();
    mkdirSync(ws.path('space', 'docs'), { recursive: true });
    writeFileSync(ws.path('space', 'agentspace.yaml'), 'name: space\n');
    writeFileSync(ws.path('space', 'docs', 'guide.md'), '# Guide\n');
    writeFileSync(ws.path('space', 'data.bin'), randomBytes(50_000));
    writeFileSync(ws.path('extra.txt'), 'extra\n');
  });
  afterAll(async () => {
    ws?.cleanup();
    await reg?.stop();
  });

  it('pushes a folder and a file, pulls them back byte-identical, lists tags and repositories', async () => {
    const ref = `${reg.host}/team/space:1.0.0`;
    const pushed = await ws.json<PushJson>([
      'oci',
      'push',
      ref,
      'space',
      'extra.txt',
      '--artifact-type',
      'application/vnd.alquimia.registry.v1',
      '-a',
      'org.opencontainers.image.version=1.0.0',
      '-a',
      'note=a=b',
    ]);
    expect(pushed.reference).toMatch(new RegExp(`^${reg.host.replace(/\./g, '\\.')}/team/space:1\\.0\\.0@sha256:[0-9a-f]{64}$`));
    expect(pushed.files.map((f) => f.title)).toEqual(['agentspace.yaml', 'data.bin', 'docs/guide.md', 'extra.txt']);
    expect(pushed.files.every((f) => f.outcome === 'uploaded' && f.mediaType === 'application/vnd.oci.image.layer.v1.tar')).toBe(true);

    const human = await ws.ok(['oci', 'pull', ref, '--out', 'pulled']);
    expect(human.trim()).toBe(`Pulled ${reg.host}/team/space:1.0.0@${pushed.digest} into ./pulled (4 files, 49 kB, verified)`);
    for (const f of ['agentspace.yaml', 'data.bin', join('docs', 'guide.md')]) expect(readFileSync(ws.path('pulled', f)).equals(readFileSync(ws.path('space', f)))).toBe(true);
    expect(readFileSync(ws.path('pulled', 'extra.txt'), 'utf8')).toBe('extra\n');
    expect(readdirSync(ws.path('pulled')).sort()).toEqual(['agentspace.yaml', 'data.bin', 'docs', 'extra.txt']);

    const again = await ws.run(['oci', 'pull', ref, '--out', 'pulled']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/pulled already exists; remove it or choose another folder with --out/);

    const byDigest = await ws.json<{ digest: string; artifactType: string; annotations: Record<string, string>; files: { title: string; digest: string }[] }>([
      'oci',
      'pull',
      `${reg.host}/team/space@${pushed.digest}`,
      '--out',
      'by-digest',
    ]);
    expect(byDigest).toMatchObject({ digest: pushed.digest, artifactType: 'application/vnd.alquimia.registry.v1', annotations: { 'org.opencontainers.image.version': '1.0.0', note: 'a=b' } });
    expect(readFileSync(ws.path('by-digest', 'data.bin')).equals(readFileSync(ws.path('space', 'data.bin')))).toBe(true);
    expect(byDigest.files.find((f) => f.title === 'data.bin')?.digest).toBe(sha(readFileSync(ws.path('space', 'data.bin'))));

    // The same files again under another tag: every blob is already there.
    const second = await ws.ok(['oci', 'push', `${reg.host}/team/space:1.0.1`, 'space', 'extra.txt', '--artifact-type', 'application/vnd.alquimia.registry.v1']);
    expect(second.trim()).toMatch(/^Pushed .*team\/space:1\.0\.1@sha256:[0-9a-f]{64} \(4 files, 49 kB; 0 blobs uploaded, 5 already there or mounted\)$/);

    expect((await ws.ok(['oci', 'tags', `${reg.host}/team/space`])).trim().split('\n').sort()).toEqual(['1.0.0', '1.0.1']);
    expect(await ws.json(['oci', 'tags', `${reg.host}/team/space`, '--limit', '1'])).toEqual({ repository: `${reg.host}/team/space`, tags: [expect.any(String)] });
    expect(await ws.json(['oci', 'repos', reg.host])).toEqual({ registry: reg.host, repositories: ['team/space'] });

    const copied = await ws.ok(['oci', 'copy', ref, `${reg.host}/team/copy:latest`]);
    expect(copied.trim()).toBe(`Copied ${ref} to ${reg.host}/team/copy:latest@${pushed.digest} (1 manifest, 5 blobs)`);
    const inspected = await ws.ok(['oci', 'inspect', `${reg.host}/team/copy:latest`]);
    expect(inspected).toContain(`${pushed.digest} application/vnd.oci.image.manifest.v1+json (application/vnd.alquimia.registry.v1)`);
    expect(inspected).toMatch(/DIGEST\s+SIZE\s+MEDIA TYPE\s+NAME/);
    expect(inspected).toContain('docs/guide.md');

    expect((await ws.ok(['oci', 'rm', `${reg.host}/team/copy:latest`])).trim()).toBe(`Deleted ${pushed.digest}`);
    const gone = await ws.run(['oci', 'pull', `${reg.host}/team/copy:latest`, '--out', 'gone']);
    expect(gone.code).toBe(4);
    expect(gone.stderr.trim()).toBe(`agentry: pull manifest latest failed on ${reg.host}/team/copy: the registry answered 404 Not Found (MANIFEST_UNKNOWN: manifest unknown)`);
    expect(existsSync(ws.path('gone'))).toBe(false);
    expect(readdirSync(ws.cwd).filter((n) => n.startsWith('.'))).toEqual([]);
    // Sixteen CLI runs: give a loaded machine room.
  }, 120_000);

  it('refuses bad input with one clear line', async () => {
    const cases: [string[], RegExp][] = [
      [['oci', 'push', 'team/space:1', 'space'], /invalid reference 'team\/space:1': expected registry\/repository.*there is no default registry/],
      [['oci', 'push', `${reg.host}/Team/space:1`, 'space'], /is not a valid repository name/],
      [['oci', 'push', `${reg.host}/team/space`, 'space'], /name a tag \(:1\.0\.0\) or a digest/],
      [['oci', 'push', `${reg.host}/team/space:1`, 'nope'], /cannot push nope: no such file or folder/],
      [['oci', 'push', `${reg.host}/team/space:1`, 'space/agentspace.yaml', 'pulled/agentspace.yaml'], /two files would be stored as 'agentspace\.yaml'/],
      [['oci', 'push', `${reg.host}/team/space:1`, 'space', '--artifact-type', 'not a type'], /artifactType 'not a type' is not a media type/],
      [['oci', 'push', `${reg.host}/team/space:1`, 'space', '-a', 'novalue'], /expected key=value/],
      [['oci', 'tags', `${reg.host}/team/space:1`], /name a repository without a tag or digest/],
      [['oci', 'tags', `${reg.host}/team/space`, '--limit', '0'], /expected a whole number of at least 1/],
      [['oci', 'repos', 'bad host'], /invalid registry 'bad host'/],
    ];
    mkdirSync(ws.path('pulled'), { recursive: true });
    writeFileSync(ws.path('pulled', 'agentspace.yaml'), 'other\n');
    for (const [args, message] of cases) {
      const r = await ws.run(args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stderr.trim().split('\n')[0]).toMatch(/^agentry: /);
    }
  }, 120_000);
});

describe.skipIf(!run)('agentry oci with basic auth', () => {
  const password = `pw-${randomBytes(6).toString('hex')}`;
  let reg: DockerRegistry;
  let ws: CliWorkspace;

  beforeAll(async () => {
    assertBuilt();
    reg = await startDockerRegistry({ basicAuth: { username: 'bob', password } });
    ws = new CliWorkspace();
    writeFileSync(ws.path('a.txt'), 'hello\n');
  });
  afterAll(async () => {
    ws?.cleanup();
    await reg?.stop();
  });

  it('logs in with --password-stdin, environment variables or a docker config file, and never prints the password', async () => {
    const ref = `${reg.host}/bob/app:v1`;
    const anonymous = await ws.run(['oci', 'push', ref, 'a.txt'], { env: { DOCKER_CONFIG: ws.path('no-docker') } });
    expect(anonymous.code).toBe(3);
    // Blobs go up several at once: whichever is checked first meets the refusal.
    expect(anonymous.stderr.trim()).toMatch(new RegExp(`^agentry: check blob sha256:[0-9a-f]{64} failed on ${reg.host.replace(/\./g, '\\.')}/bob/app: the registry requires a username and password$`));

    const wrong = await ws.run(['oci', 'tags', `${reg.host}/bob/app`, '-u', 'bob', '--password-stdin'], { input: 'wrong-password\n' });
    expect(wrong.stderr).toMatch(/list tags failed on .*\/bob\/app: the registry answered 401 Unauthorized .*the credentials were refused or lack access/);
    expect(wrong.stderr + wrong.stdout).not.toContain('wrong-password');

    const pushed = await ws.json<PushJson>(['oci', 'push', ref, 'a.txt', '-u', 'bob', '--password-stdin'], { input: `${password}\n` });
    expect(pushed.files).toEqual([expect.objectContaining({ title: 'a.txt', outcome: 'uploaded' })]);

    const viaEnv = await ws.json<{ tags: string[] }>(['oci', 'tags', `${reg.host}/bob/app`], { env: { AGENTRY_OCI_USERNAME: 'bob', AGENTRY_OCI_PASSWORD: password } });
    expect(viaEnv.tags).toEqual(['v1']);

    writeFileSync(ws.path('docker.json'), JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(`bob:${password}`).toString('base64') } } }));
    const pulled = await ws.ok(['oci', 'pull', ref, '--out', 'out', '--docker-config', ws.path('docker.json')]);
    expect(pulled).toContain(`Pulled ${reg.host}/bob/app:v1@${pushed.digest} into ./out (1 file, 6 B, verified)`);
    expect(pulled).not.toContain(password);
    expect(readFileSync(ws.path('out', 'a.txt'), 'utf8')).toBe('hello\n');

    const half = await ws.run(['oci', 'tags', `${reg.host}/bob/app`, '-u', 'bob']);
    expect(half.stderr.trim()).toBe('agentry: no password for bob: pass --password-stdin or set AGENTRY_OCI_PASSWORD');
  }, 120_000);
});

describe('agentry oci help', () => {
  it('documents every oci command with its login options and --json', async () => {
    const { buildProgram } = await import('../../src/cli/main.js');
    const oci = buildProgram().commands.find((c) => c.name() === 'oci');
    expect(oci?.commands.map((c) => c.name())).toEqual(['push', 'pull', 'tags', 'repos', 'copy', 'inspect', 'rm']);
    for (const c of oci?.commands ?? []) {
      const help = c.helpInformation();
      expect(help, c.name()).toMatch(/^Usage: agentry oci /);
      for (const flag of ['--username <name>', '--password-stdin', '--docker-config <file>', '--plain-http', '--json']) expect(help, c.name()).toContain(flag);
    }
    expect(oci?.helpInformation()).toContain('Push and pull OCI artifacts');
  });
});
