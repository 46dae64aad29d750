import { clip, textOf } from '../content-text.js';

type Ev = Record<string, unknown>;

const rubricText = (e: Ev): string => {
  const r = e.rubric as Ev | undefined;
  return typeof r?.content === 'string' ? r.content : '(no rubric text)';
};

/** The most of the agent's work a grader is shown (its latest part is kept). */
const MAX_WORK_CHARS = 60_000;

/**
 * What the agent sees of an outcome in its conversation (a user turn), or undefined for events that
 * are not about outcomes: the task with its rubric, and the grader's feedback when the work needs
 * revision or the evaluations ran out.
 */
export const outcomeTurnText = (e: Ev): string | undefined => {
  if (e.type === 'user.define_outcome') {
    return `<outcome>\nWork on this task until it is done:\n${String(e.description)}\n\nA grader will check your work against this rubric:\n${rubricText(e)}\n</outcome>`;
  }
  if (e.type === 'span.outcome_evaluation_end' && e.result === 'needs_revision') {
    return `<outcome-evaluation>\nThe grader found that your work does not meet the rubric yet (evaluation ${Number(e.iteration) + 1}):\n${String(e.explanation)}\n\nRevise your work so that it meets every criterion.\n</outcome-evaluation>`;
  }
  if (e.type === 'span.outcome_evaluation_end' && e.result === 'max_iterations_reached') {
    return `<outcome-evaluation>\nThe grader still found gaps after the last evaluation allowed:\n${String(e.explanation)}\n\nNo further evaluation will run. Reply briefly with what was done and what remains unmet.\n</outcome-evaluation>`;
  }
  return undefined;
};

/**
 * The grader's prompt: the task, the rubric and the agent's work since the outcome was defined
 * (its messages, tool calls and their results), without the agent's own reasoning about the rubric.
 */
export const graderPrompt = (outcome: Ev, work: Ev[]): string => {
  const lines: string[] = [];
  for (const e of work) {
    if (e.type === 'agent.message') lines.push(`[agent] ${textOf(e.content)}`);
    else if (e.type === 'agent.tool_use' || e.type === 'agent.mcp_tool_use' || e.type === 'agent.custom_tool_use')
      lines.push(`[tool call ${String(e.name)}] ${clip(JSON.stringify(e.input ?? {}), 2000)}`);
    else if (e.type === 'agent.tool_result' || e.type === 'agent.mcp_tool_result' || e.type === 'user.tool_result' || e.type === 'user.custom_tool_result')
      lines.push(`[tool result${e.is_error === true ? ', error' : ''}] ${clip(textOf(e.content), 2000)}`);
    else if (e.type === 'user.message') lines.push(`[user] ${clip(textOf(e.content), 4000)}`);
  }
  let transcript = lines.join('\n');
  if (transcript.length > MAX_WORK_CHARS) transcript = `…${transcript.slice(transcript.length - MAX_WORK_CHARS)}`;
  return (
    `The task given to the agent:\n${String(outcome.description)}\n\nThe agent's work so far:\n${transcript || '(nothing)'}\n\n` +
    `Criteria (the rubric; the work passes only if it meets every criterion, and the reason names each criterion that is not met):\n${rubricText(outcome)}`
  );
};
