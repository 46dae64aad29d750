#!/usr/bin/env node
/**
 * Session runtime benchmark (issue 14): `agentry serve` and `agentry dev-model` (a zero-latency
 * local provider) each in their own process, driven over HTTP from this one.
 *
 *   npm run build && node bench/sessions.mjs [--turns 200] [--consumers 100] [--streams 1000] [--concurrent 128]
 *
 * Measures:
 *   1. runtime overhead: POST user.message → first agent.message event_delta on an open stream, p50/p99
 *      (one session, turns one after another);
 *   2. fan-out: events/s delivered to `--consumers` SSE consumers of one session while turns run;
 *   3. memory: server RSS with `--streams` idle sessions each with an open stream, above the baseline;
 *   4. concurrency: `--concurrent` sessions sent a message at once, each model answer taking `--model-delay-ms`: how
 *      many ran at the same time in the one server process (from their model spans), and the wall time.
 * There is no anchor to run beside it here (OMA's runtime needs Cloudflare or its own stack): the
 * figures are Agentry's alone. Results are printed and written to .bench/sessions-<time>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startSessionBench, stream } from './session-bench-helpers.mjs';

const { values: args } = parseArgs({
  options: {
    turns: { type: 'string', default: '200' },
    consumers: { type: 'string', default: '100' },
    'fanout-turns': { type: 'string', default: '20' },
    streams: { type: 'string', default: '1000' },
    concurrent: { type: 'string', default: '128' },
    'model-delay-ms': { type: 'string', default: '5000' },
  },
});
const TURNS = Number(args.turns);
const CONSUMERS = Number(args.consumers);
const FANOUT_TURNS = Number(args['fanout-turns']);
const STREAMS = Number(args.streams);
const CONCURRENT = Number(args.concurrent);

const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

const main = async () => {
  const { model, server, token, api: call, newSession, stop } = await startSessionBench('sessions');
  const api = (_token, method, path, body) => call(method, path, body);
  const results = { at: new Date().toISOString() };
  try {
    // 1. user.message → first delta.
    {
      const s = await newSession();
      let waiter;
      const ac = new AbortController();
      await stream(`${server.url}/v1/sessions/${s.id}/events/stream?event_deltas[]=agent.message`, token, (ev) => waiter?.(ev), ac.signal);
      const lat = [];
      const posted = [];
      for (let i = 0; i < TURNS; i++) {
        let firstDelta;
        const done = new Promise((resolve) => {
          waiter = (ev) => {
            if (ev === 'event_delta' && firstDelta === undefined) firstDelta = performance.now();
            if (ev === 'session.status_idle') resolve();
          };
        });
        const t0 = performance.now();
        await api(token, 'POST', `/v1/sessions/${s.id}/events`, { events: [{ type: 'user.message', content: `turn ${i}` }] });
        posted.push(performance.now() - t0);
        await done;
        lat.push(firstDelta - t0);
      }
      ac.abort();
      results.firstDeltaMs = {
        turns: TURNS,
        p50: +percentile(lat, 50).toFixed(1),
        p99: +percentile(lat, 99).toFixed(1),
        postAnsweredP50: +percentile(posted, 50).toFixed(1),
        postAnsweredP99: +percentile(posted, 99).toFixed(1),
      };
      console.log(
        `user.message → first delta over ${TURNS} turns: p50 ${results.firstDeltaMs.p50} ms, p99 ${results.firstDeltaMs.p99} ms (goal p99 ≤ 20 ms); the POST itself answered in p50 ${results.firstDeltaMs.postAnsweredP50} ms, p99 ${results.firstDeltaMs.postAnsweredP99} ms`,
      );
    }

    // 2. Fan-out to N consumers.
    {
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
      results.fanout = { consumers: CONSUMERS, turns: FANOUT_TURNS, events: delivered, eventsPerSecond: Math.round(delivered / secs) };
      console.log(`fan-out: ${delivered} events to ${CONSUMERS} consumers in ${secs.toFixed(1)} s = ${results.fanout.eventsPerSecond} events/s`);
    }

    // 3. Idle sessions with open streams.
    {
      await new Promise((r) => setTimeout(r, 2000));
      const base = server.memoryMb().rss;
      const ac = new AbortController();
      for (let i = 0; i < STREAMS; i++) {
        const s = await newSession();
        await stream(`${server.url}/v1/sessions/${s.id}/events/stream`, token, () => undefined, ac.signal);
      }
      await new Promise((r) => setTimeout(r, 3000));
      const after = server.memoryMb().rss;
      ac.abort();
      results.idleStreams = { streams: STREAMS, baselineMb: +base.toFixed(1), withStreamsMb: +after.toFixed(1), aboveBaselineMb: +(after - base).toFixed(1) };
      console.log(`${STREAMS} idle sessions with open streams: RSS ${base.toFixed(0)} → ${after.toFixed(0)} MB (+${(after - base).toFixed(1)} MB; goal ≤ 100 MB)`);
    }

    // 4. Concurrent running sessions in one process.
    if (CONCURRENT > 0) {
      const DELAY = Number(args['model-delay-ms']);
      const turns = Array.from({ length: CONCURRENT }, () => ({ text: 'ok', delayMs: DELAY }));
      const r = await fetch(`${model.url}/_dev-model/script`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ turns }) });
      if (!r.ok) throw new Error(`dev-model script: ${r.status} ${await r.text()}`);
      const sessions = [];
      for (let i = 0; i < CONCURRENT; i++) sessions.push(await newSession());
      const t0 = performance.now();
      await Promise.all(sessions.map((s) => api(token, 'POST', `/v1/sessions/${s.id}/events`, { events: [{ type: 'user.message', content: 'go' }] })));
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
      results.concurrency = { sessions: CONCURRENT, modelDelayMs: DELAY, peakRunningAtOnce: peak, wallSeconds: +wall.toFixed(1) };
      console.log(`${CONCURRENT} sessions sent a message at once (model answers in ${DELAY} ms): at most ${peak} ran at the same time in one process; all idle after ${wall.toFixed(1)} s`);
    }
  } finally {
    await stop();
  }
  mkdirSync('.bench', { recursive: true });
  writeFileSync(`.bench/sessions-${Date.now()}.json`, JSON.stringify(results, null, 2));
};

await main();
