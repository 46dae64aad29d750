/**
 * What the session runtime needs to run a turn on a remote A2A agent (issue 20): one message sent,
 * the answer's text as it streams, the conversation's ids. The adapter (src/adapters/a2a/) speaks
 * the protocol with the official SDK's client, through the egress policy.
 */
import type { A2aRemote } from '../a2a/remote-card.js';

export interface RemoteAgentRequest {
  remote: A2aRemote;
  /** The user's message, as text. */
  text: string;
  /** The A2A message id (the session event's id: a retry sends the same one). */
  messageId: string;
  /** The conversation so far (the remote agent's `contextId` from its earlier answers). */
  contextId?: string;
  /** A task the remote agent left waiting for input (`input-required`), continued by this message. */
  taskId?: string;
  /** The credential the card asks for (from the caller's vaults), sent as the scheme says. */
  credential?: string;
}

export interface RemoteAgentAnswer {
  /** The answer's text: the message's text parts, or a task's artifacts (else its status message). */
  text: string;
  contextId?: string;
  /** Set when the remote agent's task waits for more input: the next message continues it. */
  pendingTaskId?: string;
}

/** A remote agent that could not answer: unreachable, refused by the egress policy, an A2A error or a failed task. */
export class RemoteAgentError extends Error {
  override readonly name = 'RemoteAgentError';
}

export interface RemoteAgentClient {
  send(req: RemoteAgentRequest, onText: (delta: string) => void, signal: AbortSignal): Promise<RemoteAgentAnswer>;
}

/** The runtime's A2A side: the client, and the caller's credential for a remote agent (its vaults; never the manifest). */
export interface RemoteAgents {
  client: RemoteAgentClient;
  /** The token of the first `static_bearer` credential of these vaults whose `mcp_server_url` has the agent URL's origin. */
  credential(accountId: number, vaultIds: string[], url: string): Promise<string | undefined>;
}
