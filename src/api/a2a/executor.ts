import { randomUUID } from 'node:crypto';
import type { Message, Task, TaskState, TaskStatusUpdateEvent } from '@a2a-js/sdk';
import type { AgentExecutor, ExecutionEventBus, RequestContext as A2aRequestContext } from '@a2a-js/sdk/server';
import type { FastifyBaseLogger } from 'fastify';
import type { RequestContext } from '../../core/auth/principal.js';
import type { A2aTasks } from '../../core/a2a/a2a-tasks.js';
import type { AgentTurnAnswer, AgentTurns, RunnableAgent } from '../../core/sessions/agent-turn.js';
import { failureText } from './errors.js';

/** Where a task's session is named (task metadata): the caller may follow it in `/v1/sessions/{id}`. */
export const SESSION_KEY = 'agentry.session_id';

/** What a turn's end is as an A2A task state. */
const stateOf = (a: AgentTurnAnswer): TaskState => (a.stopReason === 'end_turn' ? 'completed' : a.stopReason === 'interrupted' ? 'canceled' : 'failed');

const whyNot = (a: AgentTurnAnswer): string => {
  if (a.errors.length > 0) return a.errors.join('\n');
  if (a.stopReason === 'requires_action') return `The agent waits for a tool confirmation, which A2A cannot give: answer it in session ${a.sessionId}, or give the agent tools that are always allowed`;
  return `The turn ended: ${a.stopReason}`;
};

export interface TurnExecutorOptions {
  turns: AgentTurns;
  tasks: A2aTasks;
  ctx: RequestContext;
  agent: RunnableAgent;
  agentPath: string;
  /** message/stream: the answer's text is streamed as it comes (artifact chunks); message/send waits for whole messages. */
  streaming: boolean;
  log: FastifyBaseLogger;
  requestId: string;
  /** Stops reading the turn (server shutdown): the task then fails, the session's turn goes on. */
  signal: AbortSignal;
}

/**
 * Runs an A2A task as one turn of a session (the core's AgentTurns): the task's context is the
 * session (a context seen before continues its session), the user message's text is the turn's
 * message, each agent message is an artifact (chunks while streaming), tool calls are `working`
 * status updates, and the turn's end is the final status (`completed`, `canceled` after an
 * interrupt, else `failed` with the reason). Cancelling interrupts the session.
 */
export class TurnExecutor implements AgentExecutor {
  constructor(private readonly o: TurnExecutorOptions) {}

  async execute(rc: A2aRequestContext, bus: ExecutionEventBus): Promise<void> {
    const { taskId, contextId } = rc;
    const { ctx, agentPath } = this.o;
    const now = () => new Date().toISOString();
    const status = (state: TaskState, final: boolean, message?: Message, metadata?: Record<string, unknown>): TaskStatusUpdateEvent => ({
      kind: 'status-update',
      taskId,
      contextId,
      status: { state, timestamp: now(), ...(message ? { message } : {}) },
      final,
      ...(metadata ? { metadata } : {}),
    });
    const agentMessage = (text: string, metadata?: Record<string, unknown>): Message => ({
      kind: 'message',
      role: 'agent',
      messageId: randomUUID(),
      parts: [{ kind: 'text', text }],
      taskId,
      contextId,
      ...(metadata ? { metadata } : {}),
    });
    let published = rc.task !== undefined;
    const publishTask = (sessionId: string | undefined, state: TaskState) => {
      if (published) return;
      published = true;
      const task: Task = { kind: 'task', id: taskId, contextId, status: { state, timestamp: now() }, history: [rc.userMessage], ...(sessionId ? { metadata: { [SESSION_KEY]: sessionId } } : {}) };
      bus.publish(task);
    };
    try {
      const text = rc.userMessage.parts
        .filter((p) => p.kind === 'text')
        .map((p) => p.text)
        .join('\n');
      const known = await this.o.tasks.sessionOf(ctx, agentPath, contextId);
      const chunked = new Set<string>();
      const turn = this.o.turns.run(ctx, { agent: this.o.agent, sessionId: known, orStart: true, content: text, signal: this.o.signal, title: `A2A ${contextId}`.slice(0, 512) });
      for await (const item of turn) {
        if (item.kind === 'session') {
          if (item.created) await this.o.tasks.bind(ctx, agentPath, contextId, item.session.id, known !== undefined);
          publishTask(item.session.id, 'submitted');
          bus.publish(status('working', false));
        } else if (item.kind === 'event') {
          const ev = item.event;
          if (ev.type === 'agent.message_chunk' && this.o.streaming && typeof ev.message_id === 'string' && typeof ev.delta === 'string') {
            const append = chunked.has(ev.message_id);
            chunked.add(ev.message_id);
            bus.publish({ kind: 'artifact-update', taskId, contextId, append, lastChunk: false, artifact: { artifactId: ev.message_id, name: 'answer', parts: [{ kind: 'text', text: ev.delta }] } });
          } else if (ev.type === 'agent.message' && typeof ev.id === 'string') {
            const content = Array.isArray(ev.content) ? (ev.content as Array<Record<string, unknown>>) : [];
            const parts = content.filter((b) => b.type === 'text' && typeof b.text === 'string').map((b) => ({ kind: 'text' as const, text: b.text as string }));
            // The whole message replaces what its chunks built (append: false): the task keeps one artifact per message.
            if (parts.length > 0) bus.publish({ kind: 'artifact-update', taskId, contextId, append: false, lastChunk: true, artifact: { artifactId: ev.id, name: 'answer', parts } });
          } else if ((ev.type === 'agent.tool_use' || ev.type === 'agent.mcp_tool_use' || ev.type === 'agent.custom_tool_use') && typeof ev.name === 'string') {
            bus.publish(status('working', false, agentMessage(`Using tool ${ev.name}`, { 'agentry.event': ev.type, 'agentry.event_id': ev.id })));
          }
        } else {
          const a = item.answer;
          const state = stateOf(a);
          const final = state === 'completed' ? a.text : state === 'canceled' ? a.text || 'The task was canceled' : whyNot(a);
          bus.publish(status(state, true, agentMessage(final), { 'agentry.stop_reason': a.stopReason, 'agentry.usage': a.usage, [SESSION_KEY]: a.sessionId }));
        }
      }
    } catch (err) {
      publishTask(undefined, 'failed');
      bus.publish(status('failed', true, agentMessage(failureText(err, this.o.log, this.o.requestId))));
    } finally {
      bus.finished();
    }
  }

  /** Interrupts the task's session; its running turn then ends the task as `canceled`. */
  async cancelTask(taskId: string): Promise<void> {
    await interruptTask(this.o, taskId);
  }
}

/** Sends a user.interrupt to the session a task runs in (when it has one). */
export const interruptTask = async (o: Pick<TurnExecutorOptions, 'turns' | 'tasks' | 'ctx' | 'agentPath'>, taskId: string): Promise<void> => {
  const stored = await o.tasks.load(o.ctx, o.agentPath, taskId);
  const sessionId = stored?.metadata?.[SESSION_KEY];
  if (typeof sessionId === 'string') await o.turns.interrupt(o.ctx, sessionId);
};
