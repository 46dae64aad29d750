import { askJudge, NO_USAGE, type JudgeDeps, type JudgeResult } from '../../evals/llm-judge.js';
import type { Storage } from '../../storage.js';
import { accrueUsage, budgetReached, type Budget } from '../budget.js';
import { newEventId } from '../events.js';
import type { SessionLog } from '../session-log.js';
import type { SessionEventRecord, SessionRecord } from '../session-store.js';
import { activeOutcome, withOutcome, type OutcomeState } from './outcome-spec.js';
import { graderPrompt } from './outcome-prompts.js';

export interface OutcomeGraderDeps extends JudgeDeps {
  storage: Storage;
  log: SessionLog;
}

/**
 * What the loop does after a graded turn: nothing was graded (`none`), the session goes idle
 * (`idle`: satisfied or failed), the agent answers the grader's feedback (`revise`), the queued
 * interrupt is taken (`interrupted`), or the worker stopped (`aborted`).
 */
export type GradeNext = 'none' | 'idle' | 'revise' | 'interrupted' | 'aborted';

class Interrupted extends Error {}

/** The outcome's span.outcome_evaluation_start that no end closes yet. */
const openEvaluation = (records: SessionEventRecord[], outcomeId: string): SessionEventRecord | undefined => {
  const ended = new Set(records.filter((r) => r.type === 'span.outcome_evaluation_end').map((r) => r.event.outcome_evaluation_start_id));
  return records.filter((r) => r.type === 'span.outcome_evaluation_start' && r.event.outcome_id === outcomeId && !ended.has(r.id)).at(-1);
};

/**
 * The grader of outcomes, run by the session runtime (holding the session's lease) when a turn ends
 * while an outcome is worked on: `span.outcome_evaluation_start`, `_ongoing` every `heartbeatMs`
 * while the judge (the evals' LLM judge, on the agent's own model card) reads the work, then
 * `_end` with the verdict and the judge's usage. `needs_revision` hands the explanation back to the
 * agent as a new turn; the last evaluation allowed ends `max_iterations_reached` (one closing turn
 * follows); a judge that cannot be asked or gives no verdict ends `failed` with the reason; an
 * interrupt ends it `interrupted`.
 */
export class OutcomeGrader {
  constructor(
    private readonly deps: OutcomeGraderDeps,
    private readonly heartbeatMs = 15_000,
  ) {}

  async afterTurn(s: SessionRecord, records: SessionEventRecord[], signal: AbortSignal): Promise<GradeNext> {
    const o = activeOutcome(s.data);
    if (!o) return 'none';
    // A session at its budget is not graded (the grader spends too); raising it and going on grades the next turn.
    if (budgetReached(s.data.budget as Budget | null, Number(s.data.list_cost_micro ?? 0))) return 'none';
    const defined = records.find((r) => r.type === 'user.define_outcome' && r.event.outcome_id === o.outcome_id);
    if (!defined || defined.event.processed_at === null) return 'none';
    const { log } = this.deps;
    const base = { outcome_id: o.outcome_id, iteration: o.iteration };
    // An evaluation a stopped or crashed worker left open is taken up again, under its own start.
    const start =
      (o.result === 'evaluating' ? openEvaluation(records, o.outcome_id) : undefined) ??
      (
        await log.append(s.id, (locked) => ({
          events: [log.stamp('span.outcome_evaluation_start', base, newEventId())],
          patch: { data: withOutcome(locked.data, o.outcome_id, { result: 'evaluating' }) },
        }))
      ).records[0];

    const call = new AbortController();
    const onOuter = () => call.abort(signal.reason);
    signal.addEventListener('abort', onOuter);
    // An interrupt sent since the turn's events were read, or while the grader reads the work, stops it.
    const seenSeq = records.at(-1)?.seq ?? 0;
    const checkInterrupt = (): void => {
      void this.deps.storage.sessions
        .listEvents(s.id, { order: 'asc', afterSeq: seenSeq, types: ['user.interrupt'], limit: 10 })
        .then((rows) => {
          // An interrupt of one thread (session_thread_id) stops that thread, not the grading.
          if (rows.some((r) => r.event.processed_at === null && r.event.session_thread_id == null)) call.abort(new Interrupted());
        })
        .catch(() => undefined);
    };
    const unsubscribe = log.bus.subscribe((n) => {
      if (n.sessionId === s.id && n.kind === 'appended') checkInterrupt();
    });
    checkInterrupt();
    // Heartbeats are appended one after another, and all of them before the end.
    let beats: Promise<unknown> = Promise.resolve();
    const timer = setInterval(() => {
      beats = beats.then(() => log.append(s.id, () => ({ events: [log.stamp('span.outcome_evaluation_ongoing', base, newEventId())] })).catch(() => undefined));
    }, this.heartbeatMs);
    let verdict: JudgeResult | 'interrupted';
    try {
      const agent = s.data.agent as Record<string, unknown>;
      const model = String((agent.model as Record<string, unknown> | undefined)?.id ?? '');
      const work = records.filter((r) => r.seq > defined.seq).map((r) => r.event);
      verdict = await askJudge(this.deps, { accountId: s.accountId, model, prompt: graderPrompt(defined.event, work), passThreshold: 1 }, call.signal);
    } catch (e) {
      if (!(call.signal.reason instanceof Interrupted)) {
        if (signal.aborted) return 'aborted';
        throw e;
      }
      verdict = 'interrupted';
    } finally {
      clearInterval(timer);
      unsubscribe();
      signal.removeEventListener('abort', onOuter);
    }
    await beats;
    return this.end(s.id, o, start.id, verdict);
  }

  /** An interrupt taken while an outcome is worked on ends it `interrupted` (an evaluation a crashed worker left open is closed). */
  async interrupted(s: SessionRecord, records: SessionEventRecord[]): Promise<void> {
    const o = activeOutcome(s.data);
    if (!o) return;
    const open = openEvaluation(records, o.outcome_id);
    if (open) {
      await this.end(s.id, o, open.id, 'interrupted');
      return;
    }
    const now = this.deps.log.now();
    await this.deps.log.append(s.id, (locked) => ({
      events: [],
      patch: { data: withOutcome(locked.data, o.outcome_id, { result: 'interrupted', explanation: 'The user interrupted the work on this outcome.', completed_at: now }) },
    }));
  }

  private async end(sessionId: string, o: OutcomeState, startId: string, verdict: JudgeResult | 'interrupted'): Promise<GradeNext> {
    const { log } = this.deps;
    let result: string;
    let explanation: string;
    if (verdict === 'interrupted') {
      result = 'interrupted';
      explanation = 'The user interrupted the evaluation.';
    } else if ('error' in verdict) {
      result = 'failed';
      explanation = `The grader could not evaluate the work: ${verdict.error}`;
    } else {
      result = verdict.passed ? 'satisfied' : o.iteration + 1 >= o.max_iterations ? 'max_iterations_reached' : 'needs_revision';
      explanation = verdict.reason;
    }
    const usage = verdict === 'interrupted' ? NO_USAGE : verdict.usage;
    const now = log.now();
    const state: Partial<OutcomeState> =
      result === 'needs_revision' ? { result: 'running', iteration: o.iteration + 1, explanation } : { result: result as OutcomeState['result'], explanation, completed_at: now };
    const spent = usage.input_tokens + usage.output_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens > 0;
    await log.append(sessionId, (locked) => {
      // The grader's tokens count in the session's usage and budget like the agent's own.
      const counted = spent && verdict !== 'interrupted' ? accrueUsage(locked.data, usage, verdict.listPrice) : undefined;
      return {
        events: [
          log.stamp('span.outcome_evaluation_end', { outcome_evaluation_start_id: startId, outcome_id: o.outcome_id, iteration: o.iteration, result, explanation, usage: { ...usage } }, newEventId()),
          ...(counted ? [log.stamp('session.usage', { usage: counted.usage, budget: locked.data.budget ?? null }, newEventId())] : []),
        ],
        patch: { data: withOutcome(counted?.data ?? locked.data, o.outcome_id, state) },
      };
    });
    if (result === 'needs_revision' || result === 'max_iterations_reached') return 'revise';
    return result === 'interrupted' ? 'interrupted' : 'idle';
  }
}
