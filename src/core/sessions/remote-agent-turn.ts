import type { A2aRemote } from '../a2a/remote-card.js';
import type { StorageRepos } from '../storage.js';
import { textOf } from './content-text.js';
import { newEventId } from './events.js';
import type { RemoteAgents } from './remote-agent-port.js';
import { RemoteAgentError } from './remote-agent-port.js';
import type { SessionLog } from './session-log.js';
import type { SessionEventRecord, SessionRecord } from './session-store.js';

type Ev = Record<string, unknown>;

/** Where a session keeps its remote conversation (`data`): the A2A contextId, and a task waiting for input. */
const CONTEXT_KEY = 'a2a_context_id';
const TASK_KEY = 'a2a_task_id';

const originOf = (url: string): string => {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
};

/**
 * One turn of a session whose agent is a remote A2A agent (an imported card, issue 20): the user
 * messages since the agent's last answer go to the remote agent as one A2A message (`message/stream`
 * when its card says it streams, else `message/send`), with the session's contextId so the remote
 * conversation continues; the answer becomes the session's `agent.message` (streamed as previews while
 * it comes). A remote failure is a `session.error` naming the agent, and the turn ends (the session
 * stays usable). The user events answered are marked processed with the answer or the error.
 */
export const remoteAgentTurn = async (
  deps: { log: SessionLog; remote: RemoteAgents | undefined },
  s: SessionRecord,
  remote: A2aRemote,
  events: Ev[],
  processed: SessionEventRecord[],
  signal: AbortSignal,
): Promise<'ok' | 'failed' | 'aborted'> => {
  const { log } = deps;
  const mark = async (tx: StorageRepos): Promise<void> => {
    for (const r of processed) await tx.sessions.updateEvent(s.id, r.seq, r.event);
  };
  const fail = async (message: string): Promise<'failed'> => {
    await log.append(s.id, async (_s, tx) => {
      await mark(tx);
      return { events: [log.stamp('session.error', { error: { type: 'model_request_failed_error', message: message.slice(0, 1000), retry_status: { type: 'exhausted' } } }, newEventId())] };
    });
    return 'failed';
  };
  const who = `Remote A2A agent '${remote.name.slice(0, 100)}' (${remote.url.slice(0, 200)})`;
  if (!deps.remote) return fail(`${who}: this server does not call remote agents`);

  let lastAnswer = -1;
  events.forEach((e, i) => {
    if (e.type === 'agent.message') lastAnswer = i;
  });
  const asked = events.slice(lastAnswer + 1).filter((e) => e.type === 'user.message');
  const text = asked.map((e) => textOf(e.content)).join('\n\n');
  const messageId = (asked[asked.length - 1]?.id as string | undefined) ?? newEventId();

  let credential: string | undefined;
  if (remote.credential) {
    credential = await deps.remote.credential(s.accountId, (s.data.vault_ids as string[] | undefined) ?? [], remote.url);
    if (credential === undefined) {
      return fail(
        `${who} asks for a credential (security scheme '${remote.credential.scheme}'): add a static_bearer credential with mcp_server_url ${originOf(remote.url)} to a vault and pass it in vault_ids`,
      );
    }
  }

  const answerId = newEventId();
  let started = false;
  const preview = (event: Record<string, unknown>) => log.bus.publish({ kind: 'preview', sessionId: s.id, afterSeq: s.eventSeq, event });
  const onText = (chunk: string): void => {
    if (!started) {
      started = true;
      preview({ type: 'event_start', event: { id: answerId, type: 'agent.message' } });
    }
    preview({ type: 'event_delta', event_id: answerId, preview_of: 'agent.message', delta: { type: 'content_delta', content: { type: 'text', text: chunk } } });
    preview({ type: 'agent.message_chunk', message_id: answerId, delta: chunk });
  };
  try {
    const answer = await deps.remote.client.send(
      {
        remote,
        text,
        messageId,
        contextId: typeof s.data[CONTEXT_KEY] === 'string' ? (s.data[CONTEXT_KEY] as string) : undefined,
        taskId: typeof s.data[TASK_KEY] === 'string' ? (s.data[TASK_KEY] as string) : undefined,
        credential,
      },
      onText,
      signal,
    );
    await log.append(s.id, async (locked, tx) => {
      await mark(tx);
      const { [TASK_KEY]: _done, ...rest } = locked.data;
      return {
        events: [log.stamp('agent.message', { content: [{ type: 'text', text: answer.text === '' ? '[the remote agent answered without text]' : answer.text }] }, answerId)],
        patch: { data: { ...rest, ...(answer.contextId ? { [CONTEXT_KEY]: answer.contextId } : {}), ...(answer.pendingTaskId ? { [TASK_KEY]: answer.pendingTaskId } : {}) } },
      };
    });
    return 'ok';
  } catch (e) {
    if (signal.aborted) return 'aborted';
    if (e instanceof RemoteAgentError) return fail(`${who} failed: ${e.message}`);
    throw e;
  }
};
