import type { RequestContext } from '../auth/principal.js';
import { AgentryError, badRequest } from '../errors.js';
import type { AgentService } from '../managed/agents/agent-service.js';
import type { EnvironmentService } from '../managed/environments/environment-service.js';
import { isPlainObject } from '../packages/manifest/fields.js';
import { textOf } from './content-text.js';
import type { SessionService } from './session-service.js';
import type { SessionView } from './session-view.js';

/**
 * An agent a caller may run as a session, in the three forms the session runtime takes
 * (docs/run.md): an agent.yaml package, an agentspace agent, a managed agent of the caller.
 */
export type RunnableAgent =
  { type: 'package'; name: string; version?: string; model?: string } | { type: 'agentspace'; agentspaceId: string; assistantId: string } | { type: 'agent'; id: string; version?: number };

/** The `agent` of a session create for it (the session runtime's agent refs, agent-refs.ts). */
export const sessionAgentRef = (a: RunnableAgent): string | Record<string, unknown> => {
  switch (a.type) {
    case 'package':
      return { type: 'package', name: a.name, ...(a.version !== undefined ? { version: a.version } : {}), ...(a.model !== undefined ? { model: a.model } : {}) };
    case 'agentspace':
      return { type: 'agentspace', agentspace_id: a.agentspaceId, assistant_id: a.assistantId };
    case 'agent':
      return a.version === undefined ? a.id : { type: 'agent', id: a.id, version: a.version };
  }
};

/** Whether session `s` runs agent `a` (a continued session must): by the source it records, or its managed agent. */
export const sessionRuns = (s: SessionView, a: RunnableAgent): boolean => {
  const source = isPlainObject(s.agent.source) ? s.agent.source : undefined;
  switch (a.type) {
    case 'package':
      return source?.type === 'package' && typeof source.name === 'string' && source.name.toLowerCase() === a.name.toLowerCase();
    case 'agentspace':
      return source?.type === 'agentspace' && source.agentspace_id === a.agentspaceId && source.assistant_id === a.assistantId;
    case 'agent':
      return source === undefined && s.agent.id === a.id;
  }
};

export interface AgentTurnInput {
  agent: RunnableAgent;
  /** Continue this session (the caller's, running the same agent, not terminated); absent: start one. */
  sessionId?: string;
  /** When `sessionId` is gone (deleted, terminated, archived): start a new session instead of refusing. */
  orStart?: boolean;
  /** For a new session: its environment. Absent: the managed agent's own, else the caller's newest. */
  environmentId?: string;
  /** The user message: text, or content blocks as `user.message` takes them. */
  content: string | Array<Record<string, unknown>>;
  /** For a new session: its title and metadata. */
  title?: string;
  metadata?: Record<string, string>;
  /** Stops reading the turn (the turn itself goes on: interrupt it to stop it). */
  signal: AbortSignal;
}

/** How a turn ended: the idle event's stop reason (`end_turn`, `requires_action`, …), or what cut it short. */
export type TurnStop = string | 'interrupted' | 'terminated' | 'deleted' | 'aborted';

export interface AgentTurnAnswer {
  sessionId: string;
  /** The text of the turn's agent messages, joined by blank lines. */
  text: string;
  stopReason: TurnStop;
  /** The turn's model usage: the sum of its model requests' `model_usage`. */
  usage: Record<string, number>;
  /** The messages of the turn's `session.error` events. */
  errors: string[];
}

export type AgentTurnItem = { kind: 'session'; session: SessionView; created: boolean } | { kind: 'event'; event: Record<string, unknown> } | { kind: 'answer'; answer: AgentTurnAnswer };

const addUsage = (sum: Record<string, number>, usage: unknown): void => {
  if (!isPlainObject(usage)) return;
  for (const [k, v] of Object.entries(usage)) if (typeof v === 'number' && Number.isFinite(v)) sum[k] = (sum[k] ?? 0) + v;
};

/**
 * The one routine that runs an agent turn, for every door that offers one (A2A, the MCP "run
 * agent" tool): start or continue a session of the caller, send a user message, and yield the
 * session's events as they come (chunk previews included) until the turn ends (idle or
 * terminated), then the answer. Sessions, their rules and access stay the SessionService's.
 */
export class AgentTurns {
  constructor(
    private readonly sessions: SessionService,
    private readonly agents: AgentService,
    private readonly environments: EnvironmentService,
  ) {}

  async *run(ctx: RequestContext, input: AgentTurnInput): AsyncGenerator<AgentTurnItem> {
    let session: SessionView;
    let created = false;
    const continued = input.sessionId === undefined ? undefined : await this.continuable(ctx, input.sessionId, input.agent, input.orStart === true);
    if (continued) session = continued;
    else {
      session = await this.sessions.create(ctx, {
        agent: sessionAgentRef(input.agent),
        environment_id: input.environmentId ?? (await this.defaultEnvironment(ctx, input.agent)),
        ...(input.title !== undefined ? { title: input.title } : {}),
        ...(input.metadata !== undefined ? { metadata: input.metadata } : {}),
      });
      created = true;
    }
    yield { kind: 'session', session, created };
    const stream = await this.sessions.sendAndStream(ctx, session.id, input.content, input.signal);
    const texts: string[] = [];
    const errors: string[] = [];
    const usage: Record<string, number> = {};
    let interrupted = false;
    let stopReason: TurnStop = 'aborted';
    try {
      for await (const item of stream) {
        if (item.kind !== 'event') continue;
        const ev = item.event;
        yield { kind: 'event', event: ev };
        switch (ev.type) {
          case 'agent.message': {
            const text = textOf(ev.content);
            if (text !== '') texts.push(text);
            break;
          }
          case 'span.model_request_end':
            addUsage(usage, ev.model_usage);
            break;
          case 'session.error':
            errors.push(typeof (ev.error as Record<string, unknown> | undefined)?.message === 'string' ? ((ev.error as Record<string, unknown>).message as string) : 'session error');
            break;
          case 'user.interrupt':
            interrupted = true;
            break;
          case 'session.status_idle': {
            const reason = isPlainObject(ev.stop_reason) && typeof ev.stop_reason.type === 'string' ? ev.stop_reason.type : 'end_turn';
            stopReason = interrupted ? 'interrupted' : reason;
            break;
          }
          case 'session.status_terminated':
            stopReason = 'terminated';
            break;
          case 'session.deleted':
            stopReason = 'deleted';
            break;
        }
      }
    } finally {
      await stream.return(undefined);
    }
    const answer: AgentTurnAnswer = { sessionId: session.id, text: texts.join('\n\n'), stopReason, usage, errors };
    yield { kind: 'answer', answer };
  }

  /** The session to continue, or undefined when it is gone and `orStart` says to start another. */
  private async continuable(ctx: RequestContext, id: string, agent: RunnableAgent, orStart: boolean): Promise<SessionView | undefined> {
    const s = await this.sessions.get(ctx, id).catch((e: unknown) => {
      if (orStart && e instanceof AgentryError && e.code === 'not_found') return undefined;
      throw e;
    });
    if (!s) return undefined;
    if (!sessionRuns(s, agent)) throw badRequest(`Session ${id} runs another agent`);
    if (s.status === 'terminated' || s.archived_at !== null) {
      if (orStart) return undefined;
      throw badRequest(`Session ${id} is ${s.status === 'terminated' ? 'terminated' : 'archived'} and takes no more messages`);
    }
    return s;
  }

  /** Runs a turn and awaits its answer. */
  async answer(ctx: RequestContext, input: AgentTurnInput): Promise<AgentTurnAnswer> {
    let answer: AgentTurnAnswer | undefined;
    for await (const item of this.run(ctx, input)) if (item.kind === 'answer') answer = item.answer;
    return answer!;
  }

  /** Interrupts the session's running turn (a `user.interrupt`); an idle session has nothing to stop. */
  async interrupt(ctx: RequestContext, sessionId: string): Promise<void> {
    await this.sessions.cancel(ctx, sessionId);
  }

  /** A managed agent that names an environment runs there; every other agent in the caller's newest environment. */
  private async defaultEnvironment(ctx: RequestContext, agent: RunnableAgent): Promise<string | undefined> {
    if (agent.type === 'agent') {
      const a = await this.agents.get(ctx, agent.id, agent.version);
      if (a.config.environment_id) return undefined;
    }
    const envs = await this.environments.list(ctx, { limit: 1 });
    const env = envs.rows[0];
    if (!env) throw badRequest('You have no environment to run the agent in: create one (POST /v1/environments)');
    return env.id;
  }
}
