import { randomUUID } from 'node:crypto';
import type { Message, MessageSendParams, Part, Task, TaskArtifactUpdateEvent, TaskStatusUpdateEvent } from '@a2a-js/sdk';
import { JsonRpcTransport, RestTransport, type Transport } from '@a2a-js/sdk/client';
import { RemoteAgentError, type RemoteAgentAnswer, type RemoteAgentClient, type RemoteAgentRequest } from '../../core/sessions/remote-agent-port.js';
import { isEgressError, UNREACHABLE, type EgressPolicy } from '../egress/index.js';

/** States in which a task has given its answer (or waits for the caller), as opposed to failing. */
const ANSWERED = new Set(['completed', 'input-required', 'auth-required']);
const FAILED = new Set(['failed', 'rejected', 'canceled']);
const MESSAGE_MAX = 300;

const textOfParts = (parts: Part[] | undefined): string =>
  (parts ?? [])
    .filter((p): p is Extract<Part, { kind: 'text' }> => p.kind === 'text')
    .map((p) => p.text)
    .join('');

/** What a task answers: its artifacts' text, else its status message's. */
const textOfTask = (artifacts: Map<string, string>, status: Task['status'] | undefined): string => {
  const fromArtifacts = [...artifacts.values()].filter((t) => t !== '').join('\n\n');
  return fromArtifacts !== '' ? fromArtifacts : textOfParts(status?.message?.parts);
};

/**
 * Calls remote A2A agents with the official SDK's client transports (JSON-RPC or HTTP+JSON, as the
 * card prefers), every request through the egress policy's fetch; the credential the card asks for
 * goes into the header its scheme names. `message/stream` when the card says the agent streams (the
 * text reaches `onText` as it comes), else `message/send`.
 */
export class A2aRemoteAgentClient implements RemoteAgentClient {
  constructor(private readonly egress: EgressPolicy) {}

  async send(req: RemoteAgentRequest, onText: (delta: string) => void, signal: AbortSignal): Promise<RemoteAgentAnswer> {
    const { remote } = req;
    const header = remote.credential && req.credential !== undefined ? { [remote.credential.header]: 'apiKey' in remote.credential ? req.credential : `Bearer ${req.credential}` } : {};
    const fetchImpl: typeof fetch = (input, init) => {
      const headers = new Headers(init?.headers);
      for (const [k, v] of Object.entries(header)) headers.set(k, v);
      return this.egress.fetch(input, { ...init, headers, signal });
    };
    const transport: Transport = remote.transport === 'HTTP+JSON' ? new RestTransport({ endpoint: remote.url, fetchImpl }) : new JsonRpcTransport({ endpoint: remote.url, fetchImpl });
    const message: Message = {
      kind: 'message',
      role: 'user',
      messageId: req.messageId || randomUUID(),
      parts: [{ kind: 'text', text: req.text }],
      ...(req.contextId ? { contextId: req.contextId } : {}),
      ...(req.taskId ? { taskId: req.taskId } : {}),
    };
    const params: MessageSendParams = { message, configuration: { blocking: true, acceptedOutputModes: ['text/plain', 'text', 'text/markdown'] } };
    try {
      if (remote.streaming) return await this.stream(transport, params, onText, signal);
      return this.answerOf(await transport.sendMessage(params, { signal }));
    } catch (e) {
      if (e instanceof RemoteAgentError) throw e;
      if (signal.aborted) throw e;
      throw new RemoteAgentError(this.reason(e, remote.url));
    }
  }

  private reason(e: unknown, url: string): string {
    if (isEgressError(e)) return e.refused ? `the egress policy refuses ${hostOf(url)} (an operator allows it with --egress-allow)` : UNREACHABLE;
    const cause = e instanceof Error && e.cause !== undefined ? e.cause : undefined;
    if (cause !== undefined && isEgressError(cause)) return this.reason(cause, url);
    const m = e instanceof Error ? e.message : String(e);
    return m.length > MESSAGE_MAX ? `${m.slice(0, MESSAGE_MAX)}…` : m;
  }

  private answerOf(result: Message | Task): RemoteAgentAnswer {
    if (result.kind === 'message') return { text: textOfParts(result.parts), contextId: result.contextId };
    const artifacts = new Map<string, string>((result.artifacts ?? []).map((a) => [a.artifactId, textOfParts(a.parts)]));
    return this.taskAnswer(result.id, result.contextId, result.status, artifacts);
  }

  private taskAnswer(taskId: string, contextId: string, status: Task['status'] | undefined, artifacts: Map<string, string>): RemoteAgentAnswer {
    const state = status?.state ?? 'unknown';
    const text = textOfTask(artifacts, status);
    if (FAILED.has(state)) throw new RemoteAgentError(`its task ended ${state}${text ? `: ${text.slice(0, MESSAGE_MAX)}` : ''}`);
    if (!ANSWERED.has(state)) throw new RemoteAgentError(`its task is still ${state} (Agentry waits for a final answer; push notifications and polling are not used)`);
    return { text, contextId, ...(state === 'completed' ? {} : { pendingTaskId: taskId }) };
  }

  private async stream(transport: Transport, params: MessageSendParams, onText: (delta: string) => void, signal: AbortSignal): Promise<RemoteAgentAnswer> {
    const artifacts = new Map<string, string>();
    let task: { id: string; contextId: string; status?: Task['status'] } | undefined;
    for await (const ev of transport.sendMessageStream(params, { signal })) {
      if (ev.kind === 'message') {
        const text = textOfParts(ev.parts);
        if (text) onText(text);
        return { text, contextId: ev.contextId };
      }
      if (ev.kind === 'task') {
        task = { id: ev.id, contextId: ev.contextId, status: ev.status };
        for (const a of ev.artifacts ?? []) artifacts.set(a.artifactId, textOfParts(a.parts));
      } else if (ev.kind === 'artifact-update') {
        const u: TaskArtifactUpdateEvent = ev;
        task ??= { id: u.taskId, contextId: u.contextId };
        const chunk = textOfParts(u.artifact.parts);
        artifacts.set(u.artifact.artifactId, (u.append ? (artifacts.get(u.artifact.artifactId) ?? '') : '') + chunk);
        if (chunk) onText(chunk);
      } else if (ev.kind === 'status-update') {
        const u: TaskStatusUpdateEvent = ev;
        task = { id: u.taskId, contextId: u.contextId, status: u.status };
        if (u.final) break;
      }
    }
    if (!task) throw new RemoteAgentError('its stream ended without an answer');
    return this.taskAnswer(task.id, task.contextId, task.status, artifacts);
  }
}

const hostOf = (url: string): string => {
  try {
    return new URL(url).host;
  } catch {
    return url.slice(0, 100);
  }
};
