import type { Task } from '@a2a-js/sdk';
import type { RequestContext } from '../auth/principal.js';
import type { CoreDeps } from '../core-deps.js';
import { badRequest, notFound } from '../errors.js';
import { newManagedId } from '../managed/ids.js';
import type { ManagedKind } from '../managed/managed-storage.js';
import { newManagedObject } from '../managed/new-managed-object.js';
import { isoNow } from '../time.js';

/** The longest A2A task or context id Agentry keeps (ids are names of stored records). */
export const MAX_A2A_ID = 200;

const checkId = (id: string, what: string): string => {
  if (id === '' || id.length > MAX_A2A_ID) throw badRequest(`${what} must be 1 to ${MAX_A2A_ID} characters`);
  return id;
};

/**
 * The A2A tasks of the agents Agentry serves (issue 20), kept in the store so they outlive the
 * process that ran them (any process answers tasks/get and tasks/cancel): an A2A task is one turn
 * of a session; its context is the session, so a message with the same `contextId` continues it.
 * Both are private to the caller's account and to the agent they were made for: another account's
 * task (or this account's task of another agent) is not found. Records are managed objects of kinds
 * `a2a_task` (named by task id) and `a2a_context` (named `<agent path> <context id>`), unique per
 * account (migration 0044), so concurrent first messages of one context bind one session.
 */
export class A2aTasks {
  constructor(private readonly deps: CoreDeps) {}

  async load(ctx: RequestContext, agentPath: string, taskId: string): Promise<Task | undefined> {
    const accountId = this.deps.policy.requirePrincipal(ctx).account.id;
    if (taskId === '' || taskId.length > MAX_A2A_ID) return undefined;
    const o = await this.deps.storage.managed.findByName('a2a_task', accountId, taskId);
    if (!o || o.data.agent !== agentPath) return undefined;
    return o.data.task as Task;
  }

  /** Writes the task's current state (made on its first save). */
  async save(ctx: RequestContext, agentPath: string, task: Task): Promise<void> {
    const accountId = this.deps.policy.requirePrincipal(ctx).account.id;
    checkId(task.id, 'task id');
    const now = isoNow(this.deps.clock);
    for (let attempt = 0; attempt < 3; attempt++) {
      const o = await this.deps.storage.managed.findByName('a2a_task', accountId, task.id);
      if (o) {
        if (o.data.agent !== agentPath) throw notFound(`Task ${task.id} not found`);
        await this.deps.storage.managed.update(o.id, { data: { ...o.data, task }, updatedAt: now });
        return;
      }
      const data = { agent: agentPath, context_id: task.contextId, task };
      if (await this.insert('a2a_task', accountId, task.id, data, now)) return;
    }
    throw new Error(`task ${task.id} could not be saved`);
  }

  /** The session an A2A context of this agent continues, if it has one. */
  async sessionOf(ctx: RequestContext, agentPath: string, contextId: string): Promise<string | undefined> {
    const accountId = this.deps.policy.requirePrincipal(ctx).account.id;
    const o = await this.deps.storage.managed.findByName('a2a_context', accountId, contextName(agentPath, checkId(contextId, 'contextId')));
    return typeof o?.data.session_id === 'string' ? o.data.session_id : undefined;
  }

  /**
   * Binds a context to the session just started for it, unless another request bound it first:
   * answers the session the context continues (this one, or the one bound first). `replace` rebinds
   * a context whose session is gone (deleted or terminated).
   */
  async bind(ctx: RequestContext, agentPath: string, contextId: string, sessionId: string, replace = false): Promise<string> {
    const accountId = this.deps.policy.requirePrincipal(ctx).account.id;
    const name = contextName(agentPath, checkId(contextId, 'contextId'));
    const now = isoNow(this.deps.clock);
    for (let attempt = 0; attempt < 3; attempt++) {
      const o = await this.deps.storage.managed.findByName('a2a_context', accountId, name);
      if (o && !replace && typeof o.data.session_id === 'string') return o.data.session_id;
      if (o) {
        await this.deps.storage.managed.update(o.id, { data: { session_id: sessionId }, updatedAt: now });
        return sessionId;
      }
      if (await this.insert('a2a_context', accountId, name, { session_id: sessionId }, now)) return sessionId;
    }
    throw new Error(`context ${contextId} could not be bound`);
  }

  private async insert(kind: ManagedKind, accountId: number, name: string, data: Record<string, unknown>, now: string): Promise<boolean> {
    const made = await this.deps.storage.managed.insertUnlessNamed(newManagedObject({ id: newManagedId(kind === 'a2a_task' ? 'a2at' : 'a2ac'), kind, accountId, name, data }, now));
    return made !== undefined;
  }
}

const contextName = (agentPath: string, contextId: string): string => `${agentPath} ${contextId}`;
