import type { RequestContext } from '../auth/principal.js';
import type { ModelClientFactory, ModelEndpoint } from '../sessions/model-port.js';
import type { SessionBus } from '../sessions/event-bus.js';
import type { SessionService } from '../sessions/session-service.js';
import type { Storage } from '../storage.js';
import { isoNow, type Clock } from '../time.js';
import { agentToolNetwork, resolveBuiltinToolset, type ToolRuntime } from '../tools/builtin-toolset.js';
import { inProcessRegexTest, matchText, OUTPUT_MAX, type EvalCase, type EvalSpec, type RegexTest, type TrialResult } from './eval-spec.js';
import type { EvalRunRecord, EvalStore } from './eval-store.js';
import { JobStop as Stop, LeasedJobRunner } from '../jobs/leased-job-runner.js';
import { askJudge } from './llm-judge.js';
import { clip, textOf } from '../sessions/content-text.js';

export interface EvalRunnerDeps {
  store: EvalStore;
  storage: Storage;
  sessions: SessionService;
  bus: SessionBus;
  /** The built-in toolset's runtime: setup files and script verifiers run in the trial session's workspace, sandboxed like the agent's own bash. */
  tools?: ToolRuntime;
  /** A model card's endpoint, decrypted in the worker (the LLM judge). */
  endpointFor(accountId: number, modelId: string): Promise<ModelEndpoint | undefined>;
  models: ModelClientFactory;
  /** Regex verifiers' tests (default: in-process; the app gives one isolated in a worker with a time limit). */
  regexTest?: RegexTest;
  clock: Clock;
}

export interface EvalRunnerOptions {
  /** How long a claimed run's lease lasts without renewal (default 30 s); renewed every third of it. */
  leaseMs?: number;
  /** How often idle runners look for work besides being woken (default 1 s). */
  pollMs?: number;
  /** Runs one process drives at once (default 8). */
  maxConcurrentRuns?: number;
  onError?: (e: unknown, runId: string) => void;
}

class TrialTimeout extends Error {}

type IdleState = { status: string; stop: Record<string, unknown> | undefined };

const cut = (s: string, max = OUTPUT_MAX): string => clip(s, max);

/**
 * Drives eval runs off the request path, in every process that runs sessions: it claims a pending
 * or running run nobody holds (a lease in the store, renewed while it works, so a crashed runner's
 * run is taken again), and runs its trials as real sessions of the run's account, `concurrency` at
 * a time: a session per trial, the setup files written into its workspace, the case's messages sent
 * one turn after another, then the verifier. Each trial's result is written as it finishes; a
 * cancelled run (its status changed under the lease) stops, and its sessions are interrupted.
 */
export class EvalRunner {
  private readonly jobs: LeasedJobRunner;

  constructor(
    private readonly deps: EvalRunnerDeps,
    opts: EvalRunnerOptions = {},
  ) {
    this.jobs = new LeasedJobRunner({
      store: deps.store,
      clock: deps.clock,
      workerPrefix: 'evr',
      leaseMs: opts.leaseMs ?? 30_000,
      pollMs: opts.pollMs ?? 1_000,
      maxConcurrent: opts.maxConcurrentRuns ?? 8,
      drive: (id, ac) => this.drive(id, ac),
      whyNotHeld: (id) => this.whyNotHeld(id),
      stillActive: async (id) => {
        const r = await deps.store.find(id);
        return !r || r.status === 'pending' || r.status === 'running';
      },
      onError: opts.onError,
    });
  }

  get workerId(): string {
    return this.jobs.workerId;
  }

  start(): void {
    this.jobs.start();
  }

  /** A run was created or cancelled: look now rather than at the next poll. */
  wake(id: string): void {
    this.jobs.wake(id);
  }

  /** Stops taking work and stops the runs in progress; their leases are released, so another runner goes on with them. */
  stop(): Promise<void> {
    return this.jobs.stop();
  }

  private now(): string {
    return isoNow(this.deps.clock);
  }

  /**
   * Why a write under the lease was refused: the run ended (a cancel: its sessions are to be stopped),
   * or another runner took the run over (its sessions are that runner's now: left alone).
   */
  private async whyNotHeld(id: string): Promise<Stop> {
    const r = await this.deps.store.find(id).catch(() => undefined);
    return new Stop(r && (r.status === 'pending' || r.status === 'running') ? 'lease lost' : 'cancelled');
  }

  /** The run's account, acting with the token that started it; a reason in words when that token no longer works. */
  private async contextOf(r: EvalRunRecord): Promise<RequestContext | string> {
    const [token, account] = await Promise.all([this.deps.storage.tokens.findById(r.tokenId), this.deps.storage.accounts.findById(r.accountId)]);
    if (!token || !account || token.accountId !== account.id) return 'the token that started the eval no longer exists';
    if (token.revokedAt) return 'the token that started the eval was revoked';
    if (token.expiresAt && token.expiresAt <= this.now()) return 'the token that started the eval has expired';
    return { principal: { account, token }, ip: null };
  }

  private async drive(id: string, ac: AbortController): Promise<void> {
    const signal = ac.signal;
    const r = await this.deps.store.find(id);
    if (!r || (r.status !== 'pending' && r.status !== 'running')) return;
    const ctx = await this.contextOf(r);
    if (typeof ctx === 'string') {
      const now = this.now();
      await this.deps.store.save(id, this.workerId, { status: 'failed', error: ctx, endedAt: now, updatedAt: now });
      return;
    }
    const results = r.results.map((x) => ({ ...x }));
    if (r.status === 'pending' && !(await this.deps.store.save(id, this.workerId, { status: 'running', startedAt: this.now(), updatedAt: this.now() }))) return;

    // Results are written one at a time, in the order they change; a refused write means the run was cancelled (or the lease lost).
    let writing: Promise<void> = Promise.resolve();
    const persist = (): Promise<void> => {
      const snapshot = results.map((x) => ({ ...x }));
      writing = writing.then(async () => {
        if (signal.aborted) return;
        if (!(await this.deps.store.save(id, this.workerId, { results: snapshot, updatedAt: this.now() }))) ac.abort(await this.whyNotHeld(id));
      });
      return writing;
    };

    const todo = results.map((x, i) => (x.status === 'pending' || x.status === 'running' ? i : -1)).filter((i) => i >= 0);
    const sessionsInFlight = new Set<string>();
    const worker = async (): Promise<void> => {
      for (;;) {
        const i = todo.shift();
        if (i === undefined || signal.aborted) return;
        await this.trial(r.accountId, r.spec, ctx, results, i, persist, sessionsInFlight, signal);
      }
    };
    await Promise.all(Array.from({ length: Math.min(r.spec.concurrency, todo.length) }, () => worker()));
    await writing.catch(() => undefined);
    if (signal.aborted) {
      // A cancel: whatever still runs is interrupted (the cancel request did it too; once more does no harm).
      if (signal.reason instanceof Stop && signal.reason.message === 'cancelled') {
        for (const sid of sessionsInFlight) await this.deps.sessions.cancel(ctx, sid).catch(() => undefined);
      }
      return;
    }
    const now = this.now();
    await this.deps.store.save(id, this.workerId, { status: 'completed', results, endedAt: now, updatedAt: now });
  }

  private async trial(
    accountId: number,
    spec: EvalSpec,
    ctx: RequestContext,
    results: TrialResult[],
    i: number,
    persist: () => Promise<void>,
    inFlight: Set<string>,
    signal: AbortSignal,
  ): Promise<void> {
    const t = results[i];
    const c = spec.cases.find((x) => x.id === t.case_id)!;
    const finish = async (status: 'passed' | 'failed' | 'error', score: number, reason: string, output: string | null): Promise<void> => {
      Object.assign(t, { status, score, reason: cut(reason, 2000), output, ended_at: this.now() });
      await persist();
    };
    t.status = 'running';
    t.started_at ??= this.now();
    const deadline = Date.parse(t.started_at) + c.timeout_ms;
    try {
      if (!t.session_id) {
        const s = await this.deps.sessions.create(ctx, {
          agent: spec.agent,
          environment_id: spec.environment_id,
          title: `eval ${c.id} #${t.trial}`,
          metadata: { eval_case_id: c.id, eval_trial: String(t.trial) },
        });
        t.session_id = s.id;
        inFlight.add(s.id);
        await persist();
        const setup = await this.writeSetupFiles(s.id, c, signal);
        if (setup) return await finish('error', 0, setup, null);
      }
      const sid = t.session_id;
      inFlight.add(sid);
      // A session an earlier runner left mid-turn: its turn ends first.
      let state = await this.waitIdle(sid, deadline, signal);
      for (let m = t.messages_sent; m < c.messages.length; m++) {
        if (state.status !== 'idle' || (state.stop && state.stop.type !== 'end_turn')) break;
        const message = c.messages[m];
        await this.deps.sessions.send(ctx, sid, [{ type: 'user.message', content: typeof message === 'string' ? [{ type: 'text', text: message }] : message }]);
        t.messages_sent = m + 1;
        await persist();
        state = await this.waitIdle(sid, deadline, signal);
      }
      const output = await this.lastAnswer(sid);
      if (state.status !== 'idle') return await finish('error', 0, `the session is ${state.status}`, output);
      const stop = state.stop?.type;
      if (stop !== 'end_turn') {
        const why =
          stop === 'requires_action'
            ? 'the agent waited for a tool confirmation or a custom tool result, which an eval does not give'
            : `the turn ended with ${String(stop)}${await this.lastError(sid)}`;
        return await finish('error', 0, why, output);
      }
      const verdict = await this.verify(accountId, c, sid, output ?? '', signal);
      if ('error' in verdict) return await finish('error', 0, verdict.error, output);
      await finish(verdict.passed ? 'passed' : 'failed', verdict.score, verdict.reason, output);
    } catch (e) {
      if (signal.aborted) return;
      if (e instanceof TrialTimeout) {
        if (t.session_id) await this.deps.sessions.cancel(ctx, t.session_id).catch(() => undefined);
        return await finish('error', 0, `the trial took longer than its timeout_ms (${c.timeout_ms} ms); its session was interrupted`, t.session_id ? await this.lastAnswer(t.session_id) : null);
      }
      await finish('error', 0, e instanceof Error ? e.message : String(e), null);
    } finally {
      if (t.session_id) inFlight.delete(t.session_id);
    }
  }

  /** Writes a case's setup files into the session's workspace (the built-in write tool); a reason when one could not be written. */
  private async writeSetupFiles(sessionId: string, c: EvalCase, signal: AbortSignal): Promise<string | undefined> {
    if (c.setup_files.length === 0) return undefined;
    if (!this.deps.tools) return 'setup_files need the built-in toolset, which this server does not run';
    const box = await this.deps.tools.open({ sessionId, tools: resolveBuiltinToolset([{ type: 'agent_toolset_20260401' }]), networking: { type: 'none' } });
    try {
      for (const f of c.setup_files) {
        const r = await box.execute({ id: `setup_${f.path}`, name: 'write', input: { file_path: f.path, content: f.content } }, { signal });
        if (r.is_error) return `setup file ${f.path} could not be written: ${cut(textOf(r.content), 500)}`;
      }
    } finally {
      await box.close();
    }
    return undefined;
  }

  /** Waits until the session is idle (or terminated); throws TrialTimeout past the deadline. */
  private async waitIdle(sessionId: string, deadline: number, signal: AbortSignal): Promise<IdleState> {
    for (;;) {
      if (signal.aborted) throw new Stop('aborted');
      const s = await this.deps.storage.sessions.find(sessionId);
      if (!s) return { status: 'deleted', stop: undefined };
      if (s.status === 'idle' || s.status === 'terminated') {
        const [idle] = await this.deps.storage.sessions.listEvents(sessionId, { order: 'desc', types: ['session.status_idle'], limit: 1 });
        return { status: s.status, stop: idle?.event.stop_reason as Record<string, unknown> | undefined };
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new TrialTimeout();
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          unsubscribe();
          signal.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(left, 1000));
        const unsubscribe = this.deps.bus.subscribe((n) => {
          if (n.sessionId === sessionId && n.kind === 'appended' && n.status !== 'running' && n.status !== 'rescheduling') done();
        });
        signal.addEventListener('abort', done);
      });
    }
  }

  /** The text of the agent's last message of the last turn ('' when that turn had none). */
  private async lastAnswer(sessionId: string): Promise<string | null> {
    const [last] = await this.deps.storage.sessions.listEvents(sessionId, { order: 'desc', types: ['agent.message', 'user.message'], limit: 1 });
    if (!last) return null;
    return last.type === 'agent.message' ? cut(textOf(last.event.content), 100_000) : '';
  }

  private async lastError(sessionId: string): Promise<string> {
    const [e] = await this.deps.storage.sessions.listEvents(sessionId, { order: 'desc', types: ['session.error'], limit: 1 });
    const message = (e?.event.error as { message?: unknown } | undefined)?.message;
    return typeof message === 'string' ? `: ${cut(message, 500)}` : '';
  }

  private async verify(accountId: number, c: EvalCase, sessionId: string, output: string, signal: AbortSignal): Promise<{ passed: boolean; score: number; reason: string } | { error: string }> {
    const v = c.verifier;
    switch (v.type) {
      case 'completion':
        return { passed: true, score: 1, reason: 'the agent finished its turns (no verifier)' };
      case 'exact':
      case 'regex': {
        try {
          const m = await matchText(v, output, this.deps.regexTest ?? inProcessRegexTest);
          return { ...m, score: m.passed ? 1 : 0 };
        } catch (e) {
          return { error: `the verifier could not test the answer: ${e instanceof Error ? cut(e.message, 300) : 'unknown error'}` };
        }
      }
      case 'script':
        return this.runScript(sessionId, v.script, v.timeout_ms, signal);
      case 'llm_judge':
        return this.judge(accountId, c, v, output, signal);
    }
  }

  /** The script verifier: bash in the session's workspace, in the same sandbox and network as the agent's bash; exit 0 passes. */
  private async runScript(sessionId: string, script: string, timeoutMs: number, signal: AbortSignal): Promise<{ passed: boolean; score: number; reason: string } | { error: string }> {
    if (!this.deps.tools) return { error: 'script verifiers need the built-in toolset, which this server does not run' };
    const s = await this.deps.storage.sessions.find(sessionId);
    const box = await this.deps.tools.open({
      sessionId,
      tools: resolveBuiltinToolset([{ type: 'agent_toolset_20260401' }]),
      networking: agentToolNetwork(s?.data.environment ?? {}, s?.data.agent),
    });
    try {
      const r = await box.execute({ id: 'verifier', name: 'bash', input: { command: script, timeout_ms: timeoutMs } }, { signal });
      const out = cut(textOf(r.content), 2000);
      if (r.is_error && /^bash: (bash is unavailable|the sandbox could not start)/.test(out)) return { error: `the script verifier could not run: ${out}` };
      return { passed: !r.is_error, score: r.is_error ? 0 : 1, reason: r.is_error ? `the script failed: ${out}` : `the script passed: ${out}` };
    } finally {
      await box.close();
    }
  }

  private async judge(
    accountId: number,
    c: EvalCase,
    v: { model: string; criteria: string; pass_threshold: number },
    output: string,
    signal: AbortSignal,
  ): Promise<{ passed: boolean; score: number; reason: string } | { error: string }> {
    const asked = c.messages.map((m, i) => `Message ${i + 1}: ${typeof m === 'string' ? m : textOf(m)}`).join('\n');
    const prompt = `The user sent:\n${asked}\n\nThe agent's final answer:\n${output || '(no answer)'}\n\nCriteria:\n${v.criteria}`;
    try {
      const r = await askJudge(this.deps, { accountId, model: v.model, prompt, passThreshold: v.pass_threshold }, signal);
      return 'error' in r ? { error: r.error } : { passed: r.passed, score: r.score, reason: r.reason };
    } catch (e) {
      if (signal.aborted) throw new Stop('aborted');
      throw e;
    }
  }
}
