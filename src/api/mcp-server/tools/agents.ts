import { agentAtPath } from '../../../core/a2a/served-agents.js';
import { badRequest } from '../../../core/errors.js';
import { RunAgentInput } from '../schemas.js';
import { tool } from '../tool.js';

export const RUN_AGENT = tool({
  name: 'run_agent',
  title: 'Run an agent turn',
  description:
    'Send one message to an agent of this registry that you may run (an agent package, a managed agent or an agentspace agent) and answer its reply when the turn ends: ' +
    'the text, why it stopped, the model usage and the session id (pass it back as session_id to continue the conversation). Needs a token that may publish.',
  input: RunAgentInput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  run: async ({ registry, ctx, signal }, args) => {
    const agent = agentAtPath(args.agent);
    if (!agent) throw badRequest(`agent: '${args.agent}' names no agent: give '@scope/name', 'agents/<id>' or 'agentspaces/<agentspace_id>/<assistant_id>'`);
    // May this caller run it (a writer's token, an agent it may read)? The A2A door's rule, the same one.
    const served = await registry.a2a.agents.describeForRun(ctx, agent);
    const answer = await registry.agentTurns.answer(ctx, {
      agent,
      sessionId: args.session_id,
      environmentId: args.environment_id,
      content: args.message,
      title: `MCP run of ${served.path}`,
      signal,
    });
    return {
      agent: served.path,
      session_id: answer.sessionId,
      text: answer.text,
      stop_reason: answer.stopReason,
      usage: answer.usage,
      ...(answer.errors.length > 0 ? { errors: answer.errors } : {}),
    };
  },
});
