import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { connect, requireToken } from '../connection.js';
import { withJsonOption, withRegistryOptions, type JsonOption, type RegistryOptions } from '../global-options.js';
import { printJson, renderTable, truncate, writeLine } from '../output.js';
import { call } from '../session-stream.js';
import { resolveAgent } from './session.js';

/** The parts of an eval run this command reads; every field may be missing from a server of another version. */
interface TrialJson {
  case_id?: string;
  trial?: number;
  status?: string;
  score?: number | null;
  reason?: string | null;
  session_id?: string | null;
}
interface EvalJson {
  id: string;
  status?: string;
  score?: number | null;
  error?: string | null;
  task_count?: number;
  progress?: { total?: number; finished?: number; passed?: number; failed?: number; errored?: number; cancelled?: number };
  cases?: Array<{ id?: string; trials?: number; passed?: number; score?: number | null; verifier?: string; results?: TrialJson[] }>;
}

type RunOptions = RegistryOptions & JsonOption & { agent?: string; environment?: string; concurrency?: string; minScore?: string; wait?: boolean; interval?: string };

const ENDED = new Set(['completed', 'failed', 'cancelled']);
const MARK: Record<string, string> = { passed: '✓', failed: '✗', error: '!', cancelled: '-' };
const score = (s: number | null | undefined): string => (typeof s === 'number' ? s.toFixed(3) : '—');

const number = (v: string | undefined, name: string, min: number, max: number): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new CliError(`--${name} must be a number from ${min} to ${max}`, [], 2);
  return n;
};

/** `agentry eval run <file>`: starts an eval (POST /v1/evals) and follows it, printing each trial as it ends and the score. */
export const registerEvalCommand = (program: Command): void => {
  const evalCmd = program.command('eval').description('Evals of managed agents (the /v1/evals API): run an agent over a set of cases and score it');

  withJsonOption(
    withRegistryOptions(
      evalCmd
        .command('run')
        .description('Start an eval from a JSON file ({agent, cases: [{id, messages, setup_files?, trials?, verifier?}]}) and follow it to its score')
        .argument('<file>', 'the eval as JSON (the body of POST /v1/evals; agent may be a name)')
        .option('--agent <agent>', "the agent (id or name), instead of the file's")
        .option('--environment <id>', "the environment (default: the file's, else the agent's)")
        .option('--concurrency <n>', 'trials run at once (1 to 16)')
        .option('--min-score <x>', 'exit 1 when the score ends below this (0 to 1)')
        .option('--interval <ms>', 'how often to read the progress (default 1000)')
        .option('--no-wait', 'start it and print its id, without following it'),
    ),
  ).action(async (file: string, opts: RunOptions) => {
    const minScore = number(opts.minScore, 'min-score', 0, 1);
    const concurrency = number(opts.concurrency, 'concurrency', 1, 16);
    const interval = number(opts.interval, 'interval', 50, 60_000) ?? 1000;
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new CliError(`cannot read the eval file ${file}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new CliError(`${file} must hold a JSON object: {agent, cases: […]}`);
    const conn = await connect(opts);
    requireToken(conn);
    const agentRef = opts.agent ?? body.agent ?? body.agent_id;
    if (typeof agentRef === 'string') {
      body.agent = await resolveAgent(conn, agentRef);
      delete body.agent_id;
    }
    if (opts.environment) body.environment_id = opts.environment;
    if (concurrency !== undefined) body.concurrency = concurrency;
    let run = await call<EvalJson>(conn, 'POST', '/evals', body);
    const total = run.progress?.total ?? 0;
    if (!opts.json) process.stderr.write(`eval ${run.id}: ${run.task_count ?? '?'} cases, ${total} trials\n`);
    if (opts.wait === false) {
      if (opts.json) printJson(run);
      else writeLine(run.id);
      return;
    }
    const seen = new Set<string>();
    for (;;) {
      if (!opts.json) {
        for (const c of run.cases ?? []) {
          for (const t of c.results ?? []) {
            const key = `${t.case_id}#${t.trial}`;
            if (!t.status || !(t.status in MARK) || seen.has(key)) continue;
            seen.add(key);
            const p = run.progress ?? {};
            writeLine(`[${p.finished ?? seen.size}/${p.total ?? total}] ${MARK[t.status]} ${key} ${t.status} ${score(t.score)}${t.reason ? ` · ${truncate(t.reason.replace(/\s+/g, ' '), 100)}` : ''}`);
          }
        }
      }
      if (run.status && ENDED.has(run.status)) break;
      await new Promise((r) => setTimeout(r, interval));
      run = await call<EvalJson>(conn, 'GET', `/evals/${encodeURIComponent(run.id)}`);
    }
    if (opts.json) printJson(run);
    else {
      writeLine();
      writeLine(
        renderTable(
          ['CASE', 'VERIFIER', 'PASSED', 'SCORE'],
          (run.cases ?? []).map((c) => [c.id ?? '', c.verifier ?? '', `${c.passed ?? 0}/${c.trials ?? 0}`, score(c.score)]),
        ),
      );
      const p = run.progress ?? {};
      writeLine(`score ${score(run.score)} · ${p.passed ?? 0} passed, ${p.failed ?? 0} failed, ${p.errored ?? 0} errors of ${p.total ?? total} · ${run.status}${run.error ? ` (${run.error})` : ''}`);
    }
    if (run.status !== 'completed') throw new CliError(`the eval ${run.id} ended ${run.status}${run.error ? `: ${run.error}` : ''}`);
    if (minScore !== undefined && (run.score ?? 0) < minScore) throw new CliError(`the score ${score(run.score)} is below --min-score ${minScore}`);
  });
};
