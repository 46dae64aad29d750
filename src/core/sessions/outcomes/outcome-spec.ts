import { badRequest, conflict } from '../../errors.js';
import { newManagedId } from '../../managed/ids.js';
import { isPlainObject } from '../../packages/manifest/fields.js';
import type { SessionEvent } from '../events.js';
import type { SessionRecord, SessionStatus } from '../session-store.js';

/**
 * Outcomes (`user.define_outcome`, as in Anthropic's Managed Agents): a task and a rubric; the agent
 * works on the task, a grader judges each finished turn against the rubric and hands back what is
 * missing until the work is `satisfied` or `max_iterations` evaluations have run. This file holds
 * what the event may carry and the state the session keeps of each outcome (`data.outcomes`),
 * shown as the session's `outcome_evaluations[]`.
 */

/** A text rubric's largest size (the SDK's documented limit), in characters. */
export const MAX_RUBRIC_CHARS = 262_144;
export const MAX_DESCRIPTION_CHARS = 100_000;
export const DEFAULT_MAX_ITERATIONS = 3;
export const MAX_ITERATIONS_LIMIT = 20;

/** `pending` until the agent starts, `running` while it works or revises, `evaluating` while graded; the rest are terminal. */
export type OutcomeResult = 'pending' | 'running' | 'evaluating' | 'satisfied' | 'max_iterations_reached' | 'failed' | 'interrupted';
const TERMINAL: ReadonlySet<string> = new Set(['satisfied', 'max_iterations_reached', 'failed', 'interrupted']);

export interface OutcomeState {
  outcome_id: string;
  description: string;
  max_iterations: number;
  /** 0-indexed evaluation cycle the outcome is on. */
  iteration: number;
  result: OutcomeResult;
  explanation: string | null;
  completed_at: string | null;
}

/** The checked `user.define_outcome` event (a file rubric is resolved to its text before it is stored). */
export const defineOutcomeEvent = (raw: Record<string, unknown>, at: string, base: { id: string; type: string; processed_at: null }): SessionEvent => {
  if (typeof raw.description !== 'string' || raw.description.trim() === '') throw badRequest(`${at}.description is required`);
  if (raw.description.length > MAX_DESCRIPTION_CHARS) throw badRequest(`${at}.description is longer than ${MAX_DESCRIPTION_CHARS} characters`);
  const r = raw.rubric;
  if (!isPlainObject(r)) throw badRequest(`${at}.rubric is required: {type: 'text', content} or {type: 'file', file_id}`);
  let rubric: Record<string, unknown>;
  if (r.type === 'text') {
    if (typeof r.content !== 'string' || r.content.trim() === '') throw badRequest(`${at}.rubric.content is required`);
    if (r.content.length > MAX_RUBRIC_CHARS) throw badRequest(`${at}.rubric.content is longer than ${MAX_RUBRIC_CHARS} characters`);
    rubric = { type: 'text', content: r.content };
  } else if (r.type === 'file') {
    if (typeof r.file_id !== 'string' || r.file_id === '') throw badRequest(`${at}.rubric.file_id is required`);
    rubric = { type: 'file', file_id: r.file_id };
  } else throw badRequest(`${at}.rubric.type must be 'text' or 'file'`);
  const max = raw.max_iterations ?? DEFAULT_MAX_ITERATIONS;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > MAX_ITERATIONS_LIMIT) {
    throw badRequest(`${at}.max_iterations must be a whole number from 1 to ${MAX_ITERATIONS_LIMIT} (default ${DEFAULT_MAX_ITERATIONS})`);
  }
  return { ...base, outcome_id: newManagedId('outc'), description: raw.description, rubric, max_iterations: max };
};

export const isTerminal = (o: OutcomeState): boolean => TERMINAL.has(o.result);

export const outcomesOf = (data: Record<string, unknown>): OutcomeState[] => (Array.isArray(data.outcomes) ? (data.outcomes as OutcomeState[]) : []);

/** The outcome being worked on (at most one at a time). */
export const activeOutcome = (data: Record<string, unknown>): OutcomeState | undefined => outcomesOf(data).find((o) => !isTerminal(o));

/** The session's data with one outcome's state changed. */
export const withOutcome = (data: Record<string, unknown>, outcomeId: string, change: Partial<OutcomeState>): Record<string, unknown> => ({
  ...data,
  outcomes: outcomesOf(data).map((o) => (o.outcome_id === outcomeId ? { ...o, ...change } : o)),
});

/** One entry of the session's `outcome_evaluations[]` (the SDK's `BetaManagedAgentsOutcomeEvaluationResource`). */
export interface OutcomeEvaluationView {
  type: 'outcome_evaluation';
  outcome_id: string;
  description: string;
  iteration: number;
  result: OutcomeResult;
  explanation: string | null;
  completed_at: string | null;
}

export const outcomeEvaluations = (s: { status: SessionStatus; data: Record<string, unknown> }): OutcomeEvaluationView[] =>
  outcomesOf(s.data).map((o) => ({
    type: 'outcome_evaluation',
    outcome_id: o.outcome_id,
    description: o.description,
    iteration: o.iteration,
    // A queued outcome is being worked on once its session runs.
    result: o.result === 'pending' && (s.status === 'running' || s.status === 'rescheduling') ? 'running' : o.result,
    explanation: o.explanation,
    completed_at: o.completed_at,
  }));

/**
 * Client events about to be appended: each `user.define_outcome` starts an outcome (`pending`).
 * One outcome at a time: another while one is being worked on is refused (interrupt it first).
 */
export const acceptOutcomes = <P extends { events: SessionEvent[]; patch?: { status?: SessionStatus; data?: Record<string, unknown> } }>(s: SessionRecord, plan: P): P => {
  const defined = plan.events.filter((e) => e.type === 'user.define_outcome');
  if (defined.length === 0) return plan;
  const current = activeOutcome(s.data);
  if (current || defined.length > 1) {
    throw conflict(
      current
        ? `Session ${s.id} is already working on outcome ${current.outcome_id}: wait until it ends, or interrupt it (user.interrupt), before defining another`
        : 'Only one user.define_outcome may be sent at a time',
    );
  }
  const data = plan.patch?.data ?? s.data;
  const added: OutcomeState[] = defined.map((e) => ({
    outcome_id: e.outcome_id as string,
    description: e.description as string,
    max_iterations: e.max_iterations as number,
    iteration: 0,
    result: 'pending',
    explanation: null,
    completed_at: null,
  }));
  return { ...plan, patch: { ...plan.patch, data: { ...data, outcomes: [...outcomesOf(data), ...added] } } };
};
