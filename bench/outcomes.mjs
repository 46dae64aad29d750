#!/usr/bin/env node
/**
 * Outcome grading benchmark (issue 14, outcomes): `agentry serve` and `agentry dev-model` (a
 * zero-latency local provider) each in their own process, driven over HTTP from this one.
 *
 *   npm run build && node bench/outcomes.mjs [--rounds 30]
 *
 * Each round, on one session, runs side by side:
 *   - the anchor: a plain turn (user.message → session.status_idle), one model request;
 *   - an outcome: user.define_outcome → the agent's answer → one evaluation (satisfied) → idle,
 *     two model requests (the agent's, the grader's).
 * Reported (medians and p90, client-side clock on the SSE frames): the whole turn of each, the
 * grading overhead (outcome turn − plain turn), the evaluation span (span.outcome_evaluation_start →
 * _end frames) beside the model request span of the plain turn (span.model_request_start → _end).
 * Results are printed and written to .bench/outcomes-<time>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { startSessionBench, stream } from './session-bench-helpers.mjs';

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '30' } } });
const ROUNDS = Number(args.rounds);
const quantile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return +s[Math.min(s.length - 1, Math.floor(p * s.length))].toFixed(1);
};
const summary = (xs) => ({ p50: quantile(xs, 0.5), p90: quantile(xs, 0.9) });

const main = async () => {
  const { model, server, token, api, newSession, stop } = await startSessionBench('outcomes');
  const script = async (turns) => {
    const r = await fetch(`${model.url}/_dev-model/script`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ turns }) });
    if (!r.ok) throw new Error(`dev-model script: ${r.status} ${await r.text()}`);
  };
  const results = { at: new Date().toISOString(), rounds: ROUNDS, loadavg: loadavg().map((x) => +x.toFixed(2)) };
  const ac = new AbortController();
  try {
    const s = await newSession();

    // One SSE reader: each frame's event name and the time it arrived.
    let onFrame = () => undefined;
    await stream(`${server.url}/v1/sessions/${s.id}/events/stream`, token, (ev) => onFrame(ev, performance.now()), ac.signal);
    const turn = async (event) => {
      const at = {};
      const idle = new Promise((resolve) => {
        onFrame = (ev, t) => {
          at[ev] ??= t;
          if (ev === 'session.status_idle') resolve();
        };
      });
      const t0 = performance.now();
      await api('POST', `/v1/sessions/${s.id}/events`, { events: [event] });
      await idle;
      return { total: at['session.status_idle'] - t0, at };
    };

    const plain = [];
    const modelSpan = [];
    const outcome = [];
    const evalSpan = [];
    for (let i = 0; i < ROUNDS; i++) {
      await script([{ text: 'done' }]);
      const p = await turn({ type: 'user.message', content: `turn ${i}` });
      plain.push(p.total);
      modelSpan.push(p.at['span.model_request_end'] - p.at['span.model_request_start']);
      await script([{ text: 'done' }, { text: '{"pass": true, "score": 1, "reason": "ok"}' }]);
      const o = await turn({ type: 'user.define_outcome', description: `task ${i}`, rubric: { type: 'text', content: '- says done' } });
      if (o.at['span.outcome_evaluation_end'] === undefined) throw new Error('no evaluation ran');
      outcome.push(o.total);
      evalSpan.push(o.at['span.outcome_evaluation_end'] - o.at['span.outcome_evaluation_start']);
    }
    const evals = await api('GET', `/v1/sessions/${s.id}`);
    const satisfied = evals.outcome_evaluations.filter((e) => e.result === 'satisfied').length;
    if (satisfied !== ROUNDS) throw new Error(`${satisfied} of ${ROUNDS} outcomes satisfied`);
    results.plainTurnMs = summary(plain);
    results.outcomeTurnMs = summary(outcome);
    results.gradingOverheadMs = summary(outcome.map((x, i) => x - plain[i]));
    results.modelRequestSpanMs = summary(modelSpan);
    results.evaluationSpanMs = summary(evalSpan);
    results.loadavgAfter = loadavg().map((x) => +x.toFixed(2));
    console.log(JSON.stringify(results, null, 2));
  } finally {
    ac.abort();
    await stop();
  }
  mkdirSync('.bench', { recursive: true });
  writeFileSync(`.bench/outcomes-${Date.now()}.json`, JSON.stringify(results, null, 2));
};

await main();
