import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';

/**
 * Debian's `docker-registry` (distribution v2.8), an independent OCI registry for interop tests and the
 * benchmark: started on 127.0.0.1 on a free port with a temp storage folder and a config file of its own
 * (never the packaged /etc/docker/registry/config.yml and its :5000), optionally behind htpasswd basic
 * auth, and stopped (its folder removed) by `stop()`.
 */
export const DOCKER_REGISTRY_BIN = process.env.AGENTRY_DOCKER_REGISTRY_BIN ?? '/usr/bin/docker-registry';

export const dockerRegistryAvailable = (): boolean => existsSync(DOCKER_REGISTRY_BIN);

/**
 * Whether the interop tests must run: in CI (CI=true) or on the full local run (AGENTRY_TEST_DATABASE_URL
 * set), a missing docker-registry fails them; on a bare developer machine they are skipped with a note.
 */
export const dockerRegistryRequired = (): boolean => process.env.CI === 'true' || Boolean(process.env.AGENTRY_TEST_DATABASE_URL);

export interface DockerRegistry {
  /** `127.0.0.1:<port>`: the host part of references. */
  host: string;
  url: string;
  storageDir: string;
  /** The user and password when started with basic auth. */
  user?: { username: string; password: string };
  stop(): Promise<void>;
}

export interface DockerRegistryOptions {
  /** Require htpasswd basic auth with this user. */
  basicAuth?: { username: string; password: string };
  /** Let DELETE of manifests and blobs through (default true). */
  deleteEnabled?: boolean;
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });

const configYaml = (storageDir: string, port: number, opts: DockerRegistryOptions, htpasswdPath?: string): string =>
  [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(storageDir)}`,
    '  delete:',
    `    enabled: ${opts.deleteEnabled === false ? 'false' : 'true'}`,
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '  secret: agentry-interop-test-secret',
    ...(htpasswdPath ? ['auth:', '  htpasswd:', '    realm: agentry-test', `    path: ${JSON.stringify(htpasswdPath)}`] : []),
    '',
  ].join('\n');

const waitUntilUp = async (url: string, child: ChildProcess, output: () => string): Promise<void> => {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}: ${output()}`);
    try {
      const res = await fetch(`${url}/v2/`);
      await res.body?.cancel();
      if (res.status === 200 || res.status === 401) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`docker-registry did not answer on ${url} within 15 s: ${output()}`);
};

/** Starts docker-registry; retries on another port when the one picked was taken meanwhile. */
export const startDockerRegistry = async (opts: DockerRegistryOptions = {}): Promise<DockerRegistry> => {
  if (!dockerRegistryAvailable()) throw new Error(`docker-registry is not installed at ${DOCKER_REGISTRY_BIN} (apt-get install -y docker-registry)`);
  const dir = mkdtempSync(join(tmpdir(), 'agentry-docker-registry-'));
  const storageDir = join(dir, 'storage');
  let htpasswdPath: string | undefined;
  if (opts.basicAuth) {
    htpasswdPath = join(dir, 'htpasswd');
    writeFileSync(htpasswdPath, `${opts.basicAuth.username}:${bcrypt.hashSync(opts.basicAuth.password, 5)}\n`);
  }
  for (let tries = 0; ; tries += 1) {
    const port = await freePort();
    const configPath = join(dir, 'config.yml');
    writeFileSync(configPath, configYaml(storageDir, port, opts, htpasswdPath));
    // The registry reads REGISTRY_* variables as config overrides: give it none of the caller's.
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir };
    const child = spawn(DOCKER_REGISTRY_BIN, ['serve', configPath], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-4000)));
    child.stderr?.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-4000)));
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitUntilUp(url, child, () => output);
    } catch (e) {
      child.kill('SIGKILL');
      if (tries < 3 && /address already in use/.test(output)) continue;
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
    return {
      host: `127.0.0.1:${port}`,
      url,
      storageDir,
      ...(opts.basicAuth ? { user: opts.basicAuth } : {}),
      stop: async () => {
        // A child ended by a signal keeps exitCode null: signalCode tells it has gone (a second stop() must not wait).
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise<void>((r) => child.once('exit', () => r()));
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(timer);
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
};
