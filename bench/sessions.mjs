#!/usr/bin/env node
/**
 * Session runtime benchmark (issue 14): `agentry serve` and `agentry dev-model` (a zero-latency
 * local provider) each in their own process, driven over HTTP from this one.
 *
 *   npm run build && node bench/sessions.mjs [--stores sqlite,postgres] [--before <other build>/bin/agentry.js]
 *     [--turns 200] [--consumers 100] [--streams 1000] [--concurrent 128] [--only latency,fanout,memory,concurrency]
 *
 * Measures, per store and per build (`--before`: another build, e.g. main's, served beside this one):
 *   1. runtime overhead: POST user.message → first agent.message event_delta on an open stream, p50/p99
 *      (one session per build, turns one after another, the builds taking turns in one loop). The
 *      anchor, in the same loop: the dev model called directly (POST /v1/messages, streaming: the
 *      provider's own time to its first text delta) before each round, so all see the same load.
 *      Overhead = Agentry's figure minus that round's anchor;
 *   2. fan-out: events/s delivered to `--consumers` SSE consumers of one session while turns run;
 *   3. memory: the server's heap and RSS after full GCs (the server runs with --expose-gc and answers
 *      over IPC, bench/memory-probe.mjs) before and with `--streams` idle sessions each with an open stream;
 *   4. concurrency: `--concurrent` sessions sent a message at once, each model answer taking `--model-delay-ms`: how
 *      many ran at the same time in the one server process (from their model spans), and the wall time.
 *      `--max-running N` sets this build's AGENTRY_MAX_RUNNING_SESSIONS (the cap of sessions run at once).
 * The load average is printed with each figure (the machine is shared). Results are printed and
 * written to .bench/sessions-<time>.json. `--cpu-prof <dir>` profiles the server processes.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startServerProcess } from './server-process.mjs';
import { startDevModel, stream, withPgAt } from './session-bench-helpers.mjs';

const { values: args } = parseArgs({
  options: {
    turns: { type: 'string', default: '200' },
    consumers: { type: 'string', default: '100' },
    'fanout-turns': { type: 'string', default: '20' },
    streams: { type: 'string', default: '1000' },
    concurrent: { type: 'string', default: '128' },
    'model-delay-ms': { type: 'string', default: '5000' },
    stores: { type: 'string', default: 'sqlite' },
    'database-url': { type: 'string', default: process.env.AGENTRY_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    before: { type: 'string' },
    only: { type: 'string', default: 'latency,fanout,memory,concurrency' },
    'max-running': { type: 'string' },
    'cpu-prof': { type: 'string' },
  },
});
const TURNS = Number(args.turns);
const CONSUMERS = Number(args.consumers);
const FANOUT_TURNS = Number(args['fanout-turns']);
const STREAMS = Number(args.streams);
const CONCURRENT = Number(args.concurrent);
const ONLY = new Set(args.only.split(','));
const load = () => loadavg().map((x) => +x.toFixed(2));

const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

/** The anchor: the dev model's own time to its first text delta, called directly (streaming Anthropic Messages). */
const modelFirstDelta = async (modelUrl, text) => {
  const t0 = performance.now();
  const res = await fetch(`${modelUrl}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': 'bench', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'dev-model', max_tokens: 8192, stream: true, messages: [{ role: 'user', content: [{ type: 'text', text }] }] }),
  });
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  let first;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    if (first === undefined && buf.includes('event: content_block_delta')) first = performance.now() - t0;
  }
  if (first === undefined) throw new Error('the dev model sent no text delta');
  return first;
};

const stats = (xs) => ({ p50: +percentile(xs, 50).toFixed(1), p99: +percentile(xs, 99).toFixed(1) });

/** A fresh server of one build on one store, with a user, a model card on the dev model, an environment and an agent. */
const openBuild = async ({ model, store, build }) => {
  const adminToken = `agentry_${randomBytes(32).toString('base64url')}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'agentry-bench-sessions-'));
  const schema = store === 'postgres' ? `bench_sessions_${randomBytes(4).toString('hex')}` : undefined;
  if (schema) await withPg((c) => c.query(`CREATE SCHEMA "${schema}"`));
  process.env.AGENTRY_EGRESS_ALLOW = '127.0.0.1';
  const env = build.label === 'this' && args['max-running'] ? { AGENTRY_MAX_RUNNING_SESSIONS: args['max-running'] } : {};
  const nodeArgs = args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${resolve(args['cpu-prof'], `${store}-${build.label}`)}`] : [];
  const server = await startServerProcess({ dataDir, adminToken, bin: build.bin, env, nodeArgs, memoryProbe: true, ...(schema ? { databaseUrl: args['database-url'], databaseSchema: schema } : {}) });
  const api = async (token, method, path, body) => {
    const r = await fetch(server.url + path, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body && JSON.stringify(body) });
    const json = await r.json();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(json)}`);
    return json;
  };
  const close = async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) await withPg((c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
  };
  try {
    const user = await api(adminToken, 'POST', '/api/v1/users', { username: 'bench' });
    const token = user.token;
    await api(token, 'POST', '/v1/model_cards', { model_id: 'dev', provider: 'ant-compatible', model: 'dev-model', base_url: model.url, api_key: 'bench' });
    const environment = await api(token, 'POST', '/v1/environments', { name: 'bench' });
    const agent = await api(token, 'POST', '/v1/agents', { name: 'bench', model: 'dev', environment_id: environment.id });
    const newSession = () => api(token, 'POST', '/v1/sessions', { agent: agent.id, environment_id: environment.id });
    return { store, build, server, api, token, newSession, close, tag: `[${store}, ${build.label}]`, results: { store, build: build.label } };
  } catch (e) {
    await close();
    throw e;
  }
};

const withPg = (fn) => withPgAt(args['database-url'], fn);

/**
 * 1. user.message → first delta on every build's server, turn by turn in the same loop, each turn
 * beside the dev model's own first delta (the anchor), so all see the same load.
 */
const latency = async (model, ctxs) => {
  const per = [];
  for (const c of ctxs) {
    const s = await c.newSession();
    const ac = new AbortController();
    const r = { c, s, ac, waiter: undefined, lat: [], overhead: [], posted: [], missed: 0 };
    await stream(`${c.server.url}/v1/sessions/${s.id}/events/stream?event_deltas[]=agent.message`, c.token, (ev) => r.waiter?.(ev), ac.signal);
    per.push(r);
  }
  const anchor = [];
  // A few turns first: connections, JIT and caches warm on every side.
  const WARM = Math.min(10, Math.ceil(TURNS / 10));
  for (let i = 0; i < TURNS + WARM; i++) {
    const a = await modelFirstDelta(model.url, `turn ${i}`);
    if (i >= WARM) anchor.push(a);
    // The builds take turns going first.
    for (const r of i % 2 === 0 ? per : [...per].reverse()) {
      let firstDelta;
      const done = new Promise((res) => {
        r.waiter = (ev) => {
          if (ev === 'event_delta' && firstDelta === undefined) firstDelta = performance.now();
          if (ev === 'session.status_idle') res();
        };
      });
      const t0 = performance.now();
      await r.c.api(r.c.token, 'POST', `/v1/sessions/${r.s.id}/events`, { events: [{ type: 'user.message', content: `turn ${i}` }] });
      const p = performance.now() - t0;
      await done;
      if (i < WARM) continue;
      // A turn whose deltas never reached the stream (a preview is dropped when it cannot be placed).
      if (firstDelta === undefined) {
        r.missed++;
        continue;
      }
      r.posted.push(p);
      r.lat.push(firstDelta - t0);
      r.overhead.push(firstDelta - t0 - a);
    }
  }
  for (const r of per) {
    r.ac.abort();
    r.c.results.firstDeltaMs = {
      turns: TURNS,
      turnsWithoutDelta: r.missed,
      ...stats(r.lat),
      anchorDevModel: stats(anchor),
      overhead: stats(r.overhead),
      postAnswered: stats(r.posted),
      load: load(),
    };
    const f = r.c.results.firstDeltaMs;
    console.log(
      `${r.c.tag} user.message → first delta over ${TURNS} turns: p50 ${f.p50} ms, p99 ${f.p99} ms (goal p99 ≤ 20 ms); anchor (the dev model's own first delta, same loop) p50 ${f.anchorDevModel.p50} ms, p99 ${f.anchorDevModel.p99} ms; overhead per turn p50 ${f.overhead.p50} ms, p99 ${f.overhead.p99} ms; the POST answered in p50 ${f.postAnswered.p50} ms, p99 ${f.postAnswered.p99} ms${r.missed ? `; ${r.missed} turns showed no delta` : ''}; load ${f.load.join(' ')}`,
    );
  }
};

/** 2–4, on one build's server. */
const sections = async (model, { server, api, token, newSession, tag, results }) => {
  {
    // 2. Fan-out to N consumers.
    if (ONLY.has('fanout')) {
      const s = await newSession();
      const ac = new AbortController();
      let delivered = 0;
      let idles = 0;
      let onIdle;
      for (let i = 0; i < CONSUMERS; i++) {
        await stream(
          `${server.url}/v1/sessions/${s.id}/events/stream?event_deltas[]=agent.message`,
          token,
          (ev) => {
            if (ev === 'ping') return;
            delivered++;
            if (ev === 'session.status_idle') {
              idles++;
              if (idles === CONSUMERS) onIdle?.();
            }
          },
          ac.signal,
        );
      }
      const t0 = performance.now();
      for (let i = 0; i < FANOUT_TURNS; i++) {
        idles = 0;
        const all = new Promise((r) => (onIdle = r));
        await api(token, 'POST', `/v1/sessions/${s.id}/events`, { events: [{ type: 'user.message', content: `a longer message for turn ${i} so that the echo streams several deltas` }] });
        await all;
      }
      const secs = (performance.now() - t0) / 1000;
      ac.abort();
      results.fanout = { consumers: CONSUMERS, turns: FANOUT_TURNS, events: delivered, eventsPerSecond: Math.round(delivered / secs), load: load() };
      console.log(`${tag} fan-out: ${delivered} events to ${CONSUMERS} consumers in ${secs.toFixed(1)} s = ${results.fanout.eventsPerSecond} events/s; load ${results.fanout.load.join(' ')}`);
    }

    // 3. Idle sessions with open streams: memory after full GCs, before and with them.
    if (ONLY.has('memory')) {
      await new Promise((r) => setTimeout(r, 1000));
      const base = await server.memoryAfterGc();
      const ac = new AbortController();
      for (let i = 0; i < STREAMS; i++) {
        const s = await newSession();
        await stream(`${server.url}/v1/sessions/${s.id}/events/stream`, token, () => undefined, ac.signal);
      }
      await new Promise((r) => setTimeout(r, 2000));
      const withStreams = await server.memoryAfterGc();
      ac.abort();
      results.idleStreams = {
        streams: STREAMS,
        baseline: base,
        withStreams,
        heapAboveBaselineMb: +(withStreams.heapUsed - base.heapUsed).toFixed(1),
        rssAboveBaselineMb: +(withStreams.rss - base.rss).toFixed(1),
        kbPerStream: Math.round(((withStreams.heapUsed + withStreams.external - base.heapUsed - base.external) * 1024) / Math.max(1, STREAMS)),
        load: load(),
      };
      const m = results.idleStreams;
      console.log(
        `${tag} ${STREAMS} idle sessions with open streams, after GC: heap ${base.heapUsed} → ${withStreams.heapUsed} MB (+${m.heapAboveBaselineMb} MB), RSS ${base.rss} → ${withStreams.rss} MB (+${m.rssAboveBaselineMb} MB; goal ≤ 100 MB); ~${m.kbPerStream} KB of heap+external per stream${base.gc ? '' : ' (NO GC: --expose-gc missing)'}; load ${m.load.join(' ')}`,
      );
    }

    // 4. Concurrent running sessions in one process.
    if (ONLY.has('concurrency') && CONCURRENT > 0) {
      const DELAY = Number(args['model-delay-ms']);
      const turns = Array.from({ length: CONCURRENT }, () => ({ text: 'ok', delayMs: DELAY }));
      const r = await fetch(`${model.url}/_dev-model/script`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ turns }) });
      if (!r.ok) throw new Error(`dev-model script: ${r.status} ${await r.text()}`);
      const sessions = [];
      for (let i = 0; i < CONCURRENT; i++) sessions.push(await newSession());
      const before = await server.memoryAfterGc();
      const t0 = performance.now();
      await Promise.all(sessions.map((s) => api(token, 'POST', `/v1/sessions/${s.id}/events`, { events: [{ type: 'user.message', content: 'go' }] })));
      // Memory while they wait for the model (half way through the first answers).
      await new Promise((res) => setTimeout(res, DELAY / 2));
      const during = server.memoryMb();
      for (;;) {
        const idle = await Promise.all(sessions.map((s) => api(token, 'GET', `/v1/sessions/${s.id}`)));
        if (idle.every((x) => x.status === 'idle')) break;
        await new Promise((res) => setTimeout(res, 200));
      }
      const wall = (performance.now() - t0) / 1000;
      // How many model requests were open at once, from the spans the runtime wrote.
      const edges = [];
      for (const s of sessions) {
        const ev = await api(token, 'GET', `/v1/sessions/${s.id}/events?limit=1000`);
        for (const e of ev.data) {
          if (e.type === 'span.model_request_start') edges.push([Date.parse(e.processed_at), 1]);
          if (e.type === 'span.model_request_end') edges.push([Date.parse(e.processed_at), -1]);
        }
      }
      edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      let open = 0;
      let peak = 0;
      for (const [, d] of edges) peak = Math.max(peak, (open += d));
      results.concurrency = {
        sessions: CONCURRENT,
        modelDelayMs: DELAY,
        peakRunningAtOnce: peak,
        wallSeconds: +wall.toFixed(1),
        rssBeforeMb: before.rss,
        rssWhileRunningMb: +during.rss.toFixed(1),
        load: load(),
      };
      const c = results.concurrency;
      console.log(
        `${tag} ${CONCURRENT} sessions sent a message at once (model answers in ${DELAY} ms): at most ${peak} ran at the same time in one process; all idle after ${c.wallSeconds} s; RSS ${c.rssBeforeMb} MB → ${c.rssWhileRunningMb} MB while running; load ${c.load.join(' ')}`,
      );
    }
  }
};

const main = async () => {
  const model = await startDevModel();
  const builds = [...(args.before ? [{ label: 'before', bin: resolve(args.before) }] : []), { label: 'this', bin: undefined }];
  const all = { at: new Date().toISOString(), loadAtStart: load(), runs: [] };
  try {
    for (const store of args.stores.split(',')) {
      const ctxs = [];
      try {
        for (const build of builds) ctxs.push(await openBuild({ model, store, build }));
        if (ONLY.has('latency')) await latency(model, ctxs);
        for (const c of ctxs) await sections(model, c);
      } finally {
        for (const c of ctxs) await c.close();
      }
      all.runs.push(...ctxs.map((c) => c.results));
    }
  } finally {
    model.stop();
  }
  all.loadAtEnd = load();
  mkdirSync('.bench', { recursive: true });
  const out = `.bench/sessions-${Date.now()}.json`;
  writeFileSync(out, JSON.stringify(all, null, 2));
  console.log(`written to ${out}`);
};

await main();
