import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Debian's docker-registry (distribution v2.8) for bench/oci.mjs: 127.0.0.1, a free port, a temp
 * storage folder and a config of its own (anonymous, deletes enabled). The interop tests use the
 * TypeScript twin in test/helpers/docker-registry.ts, which adds htpasswd auth. With `tls`
 * ({ certificate, key }: PEM file paths) it serves HTTPS (its own TLS, `http.tls` in its config); the
 * caller's process must trust the certificate (NODE_EXTRA_CA_CERTS) for the readiness probe.
 */
export const DOCKER_REGISTRY_BIN = process.env.AGENTRY_DOCKER_REGISTRY_BIN ?? '/usr/bin/docker-registry';

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

export const startDockerRegistry = async ({ tls } = {}) => {
  if (!existsSync(DOCKER_REGISTRY_BIN)) throw new Error(`docker-registry is not installed at ${DOCKER_REGISTRY_BIN} (apt-get install -y docker-registry)`);
  const dir = mkdtempSync(join(tmpdir(), 'agentry-bench-registry-'));
  const port = await freePort();
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${JSON.stringify(join(dir, 'storage'))}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '  secret: agentry-bench-secret',
      ...(tls ? ['  tls:', `    certificate: ${JSON.stringify(tls.certificate)}`, `    key: ${JSON.stringify(tls.key)}`] : []),
      '',
    ].join('\n'),
  );
  const child = spawn(DOCKER_REGISTRY_BIN, ['serve', config], { env: { PATH: process.env.PATH, HOME: dir }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}: ${stderr}`);
    try {
      const res = await fetch(`${url}/v2/`);
      await res.body?.cancel();
      if (res.status === 200) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`docker-registry did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host: `127.0.0.1:${port}`,
    url,
    pid: child.pid,
    /** The registry's storage folder (where its blobs are). */
    storageDir: join(dir, 'storage'),
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
};
