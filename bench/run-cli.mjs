#!/usr/bin/env node
/**
 * `agentry run` start-up benchmark (issue 19): the time from spawning `agentry run @scope/name "…"`
 * to the first byte of the streamed answer on its stdout, with `agentry serve` and `agentry dev-model`
 * (the zero-latency local provider) each in their own process. The package is made the quickstart's
 * way (`agentry init --kind agent`, `agentry publish`) and run with `--model`.
 *
 *   npm run build && node bench/run-cli.mjs [--rounds 10]
 *
 * Anchors, in the same rounds (each round runs all three one after another, so they see the same load):
 *   - `agentry whoami`: the CLI's start-up floor (spawn → exit, one HTTP request);
 *   - `agentry session run <agent> "…"`: spawn → first answer byte for a managed agent that exists.
 * Figures: p50 (and min/max) in ms, with the load average before and after. Written to
 * .bench/run-cli-<time>.json.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startServerProcess } from './server-process.mjs';
import { startDevModel } from './session-bench-helpers.mjs';

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '10' } } });
const ROUNDS = Number(args.rounds);
const BIN = fileURLToPath(new URL('../bin/agentry.js', import.meta.url));
const load = () => loadavg().map((x) => +x.toFixed(2));

/**
 * Spawns the CLI; answers the ms to its first stdout byte (`first`) and to its exit (`total`).
 * Fails on a non-zero exit.
 */
const timeCli = (cliArgs, env, cwd) =>
  new Promise((resolve, reject) => {
    const t0 = performance.now();
    let first;
    let stderr = '';
    const child = spawn(process.execPath, [BIN, ...cliArgs], { env: { ...process.env, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', () => {
      if (first === undefined) first = performance.now() - t0;
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`agentry ${cliArgs.join(' ')} exited ${code}: ${stderr}`));
      else resolve({ first: first ?? NaN, total: performance.now() - t0 });
    });
  });

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: +s[Math.floor(s.length / 2)].toFixed(1), min: +s[0].toFixed(1), max: +s.at(-1).toFixed(1) };
};

const main = async () => {
  const model = await startDevModel();
  const adminToken = `agentry_${randomBytes(32).toString('base64url')}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'agentry-bench-run-'));
  const work = mkdtempSync(join(tmpdir(), 'agentry-bench-run-pkg-'));
  const server = await startServerProcess({ dataDir, adminToken, env: { AGENTRY_EGRESS_ALLOW: '127.0.0.1' } });
  try {
    const api = async (token, method, path, body) => {
      const r = await fetch(server.url + path, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body && JSON.stringify(body) });
      const json = await r.json();
      if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(json)}`);
      return json;
    };
    const { token } = await api(adminToken, 'POST', '/api/v1/users', { username: 'bench' });
    await api(token, 'POST', '/v1/model_cards', { model_id: 'dev', provider: 'ant-compatible', model: 'dev-model', base_url: model.url, api_key: 'bench' });
    const environment = await api(token, 'POST', '/v1/environments', { name: 'bench' });
    await api(token, 'POST', '/v1/agents', { name: 'helper', model: 'dev', environment_id: environment.id });
    const env = { AGENTRY_REGISTRY: server.url, AGENTRY_TOKEN: token, AGENTRY_CONFIG: join(work, 'agentry.json') };
    await timeCli(['init', '--kind', 'agent', '--name', 'hello-agent', '--scope', 'bench'], env, work);
    await timeCli(['publish'], env, work);

    const phases = {
      whoami: ['whoami'],
      'session run': ['session', 'run', 'helper', 'Hello there'],
      run: ['run', '@bench/hello-agent', 'Hello there', '--model', 'dev'],
    };
    for (const cliArgs of Object.values(phases)) await timeCli(cliArgs, env, work); // warm-up (the first run of a version maps the agent)
    const loadBefore = load();
    const seen = Object.fromEntries(Object.keys(phases).map((k) => [k, []]));
    for (let i = 0; i < ROUNDS; i++) {
      for (const [name, cliArgs] of Object.entries(phases)) {
        const t = await timeCli(cliArgs, env, work);
        seen[name].push(name === 'whoami' ? t.total : t.first);
      }
    }
    const loadAfter = load();
    const results = {
      rounds: ROUNDS,
      load_before: loadBefore,
      load_after: loadAfter,
      'whoami (spawn → exit)': stats(seen.whoami),
      'session run (spawn → first answer byte)': stats(seen['session run']),
      'run (spawn → first answer byte)': stats(seen.run),
    };
    console.log(JSON.stringify(results, null, 2));
    mkdirSync('.bench', { recursive: true });
    writeFileSync(`.bench/run-cli-${new Date().toISOString().replace(/[:.]/g, '-')}.json`, JSON.stringify(results, null, 2));
  } finally {
    await server.stop();
    model.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
};

await main();
