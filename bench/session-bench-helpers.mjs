/** Helpers of the session benchmarks (bench/sessions.mjs, bench/outcomes.mjs). */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePort, startServerProcess } from './server-process.mjs';

const BIN = fileURLToPath(new URL('../bin/agentry.js', import.meta.url));

/** `agentry dev-model` (the zero-latency local provider) in its own process, on a free port. */
export const startDevModel = async () => {
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, 'dev-model', '--port', String(port), '--quiet'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (/listening on/.test(out)) resolve();
    });
    child.once('exit', (c) => reject(new Error(`dev-model exited ${c}`)));
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
};

/** An SSE reader calling `onFrame(event, data)` per frame. */
export const stream = async (url, token, onFrame, signal) => {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, signal });
  if (res.status !== 200) throw new Error(`stream: ${res.status}`);
  (async () => {
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let buf = '';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const frame = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = /^event: (.*)$/m.exec(frame)?.[1];
          if (ev) onFrame(ev, frame);
        }
      }
    } catch {
      /* aborted */
    }
  })();
  return res;
};

/**
 * The set-up both session benchmarks share: the dev model and `agentry serve` (SQLite in a temp
 * dir) in their own processes, a user `bench` with a model card on the dev model, an environment
 * and an agent; `api(method, path, body)` calls the server as that user. `stop()` ends both.
 */
export const startSessionBench = async (name) => {
  const model = await startDevModel();
  const adminToken = `agentry_${randomBytes(32).toString('base64url')}`;
  const dataDir = mkdtempSync(join(tmpdir(), `agentry-bench-${name}-`));
  process.env.AGENTRY_EGRESS_ALLOW = '127.0.0.1';
  const server = await startServerProcess({ dataDir, adminToken });
  const call = async (token, method, path, body) => {
    const r = await fetch(server.url + path, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body && JSON.stringify(body) });
    const json = await r.json();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(json)}`);
    return json;
  };
  const stop = async () => {
    await server.stop();
    model.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const { token } = await call(adminToken, 'POST', '/api/v1/users', { username: 'bench' });
    const api = (method, path, body) => call(token, method, path, body);
    await api('POST', '/v1/model_cards', { model_id: 'dev', provider: 'ant-compatible', model: 'dev-model', base_url: model.url, api_key: 'bench' });
    const env = await api('POST', '/v1/environments', { name: 'bench' });
    const agent = await api('POST', '/v1/agents', { name: 'bench', model: 'dev', environment_id: env.id });
    const newSession = () => api('POST', '/v1/sessions', { agent: agent.id, environment_id: env.id });
    return { model, server, token, api, newSession, stop };
  } catch (e) {
    await stop();
    throw e;
  }
};

/** Runs `fn` with a PostgreSQL client of `url` (schemas of the benches' servers are made and dropped with it). */
export const withPgAt = async (url, fn) => {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
};
