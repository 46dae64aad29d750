#!/usr/bin/env node
/**
 * OCI pull-through mirror latency: pulling an image through Agentry's `/v2/hub/…` the first time
 * (miss: Agentry fetches manifest and blobs from the upstream, verifies and stores them) and again
 * (hit: served from Agentry's store), beside the anchor measured in the same run: the same pull
 * straight from the upstream, Debian's docker-registry on 127.0.0.1.
 *
 *   npm run build && node bench/mirror.mjs
 *   node bench/mirror.mjs --rounds 7 --layers 3 --layer-kb 1024
 *
 * Each round pushes a new image (fresh random layers) to the upstream, then times, with Agentry's
 * OCI client (what `agentry oci pull` uses, sha256-verified, in memory): direct pull from the
 * upstream, pull through the mirror (miss), pull through the mirror again (hit). Medians of the
 * rounds are printed with the load average and written to .bench/mirror-<time>.json.
 * Requires docker-registry at /usr/bin/docker-registry.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startDockerRegistry } from './docker-registry.mjs';
import { startServerProcess } from './server-process.mjs';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    layers: { type: 'string', default: '3' },
    'layer-kb': { type: 'string', default: '1024' },
  },
});
const whole = (name) => {
  const n = Number(args[name]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a whole number of at least 1 (got ${args[name]})`);
  return n;
};
const ROUNDS = whole('rounds');
const LAYERS = whole('layers');
const LAYER_BYTES = whole('layer-kb') * 1024;

const { OciClient } = await import('../dist/adapters/oci-client/index.js');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const timed = async (fn) => {
  const t = process.hrtime.bigint();
  const r = await fn();
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, r };
};

const upstream = await startDockerRegistry();
const dataDir = mkdtempSync(join(tmpdir(), 'agentry-bench-mirror-'));
const adminToken = `agentry_${randomBytes(32).toString('base64url')}`;
const server = await startServerProcess({ dataDir, adminToken, env: { AGENTRY_EGRESS_ALLOW: '127.0.0.1' } });
try {
  const added = await fetch(`${server.url}/api/v1/mirrors`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'oci', name: 'hub', url: upstream.url }),
  });
  if (added.status !== 201) throw new Error(`adding the mirror: ${added.status} ${await added.text()}`);
  const agentryHost = new URL(server.url).host;
  const client = new OciClient({ retry: { retries: 0 } });
  const rows = { direct: [], miss: [], hit: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const repo = `bench/app${round}`;
    const layers = Array.from({ length: LAYERS }, (_, i) => ({ mediaType: 'application/octet-stream', data: randomBytes(LAYER_BYTES), title: `layer${i}.bin` }));
    const pushed = await client.pushArtifact({ ref: `${upstream.host}/${repo}:1.0`, artifactType: 'application/vnd.example.bench.v1', layers });
    const direct = await timed(() => client.pullArtifact(`${upstream.host}/${repo}:1.0`));
    const miss = await timed(() => client.pullArtifact(`${agentryHost}/hub/${repo}:1.0`));
    const hit = await timed(() => client.pullArtifact(`${agentryHost}/hub/${repo}:1.0`));
    for (const [name, t] of Object.entries({ direct, miss, hit })) {
      if (t.r.digest !== pushed.digest) throw new Error(`${name}: pulled ${t.r.digest}, pushed ${pushed.digest}`);
      rows[name].push(t.ms);
    }
  }
  const load = loadavg();
  const result = {
    image: { layers: LAYERS, layerBytes: LAYER_BYTES },
    rounds: ROUNDS,
    medianMs: { direct: median(rows.direct), miss: median(rows.miss), hit: median(rows.hit) },
    allMs: rows,
    machine: { cpus: cpus().length, loadavg: load },
  };
  console.log(`OCI mirror pull latency, ${LAYERS} layer(s) of ${LAYER_BYTES / 1024} KiB, median of ${ROUNDS} round(s), load average ${load[0].toFixed(2)} on ${cpus().length} CPUs`);
  console.log(`  direct from docker-registry (anchor)  ${result.medianMs.direct.toFixed(1)} ms`);
  console.log(`  through the mirror, miss               ${result.medianMs.miss.toFixed(1)} ms  (${(result.medianMs.miss / result.medianMs.direct).toFixed(2)}× direct)`);
  console.log(`  through the mirror, hit                ${result.medianMs.hit.toFixed(1)} ms  (${(result.medianMs.hit / result.medianMs.direct).toFixed(2)}× direct)`);
  mkdirSync('.bench', { recursive: true });
  const file = join('.bench', `mirror-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2));
  console.log(`written to ${file}`);
} finally {
  await server.stop();
  await upstream.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
