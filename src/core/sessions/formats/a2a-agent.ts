import { remoteOf, type A2aRemote } from '../../a2a/remote-card.js';
import { badRequest } from '../../errors.js';
import type { AgentInput } from '../../managed/agents/agent-config.js';
import { isPlainObject } from '../../packages/manifest/fields.js';

/** The model id of an agent that runs on a remote A2A agent: no model card is read for it. */
export const A2A_MODEL = 'a2a';

/** What a run of an imported A2A agent becomes: a managed agent without tools, and where to call it. */
export interface A2aAgentMapping {
  input: AgentInput;
  remote: A2aRemote;
  suggestedPrompts: string[];
}

/** The remote agent a session calls, from its agent snapshot (`agent.source.a2a`), if it is one. */
export const remoteOfSession = (agent: Record<string, unknown>): A2aRemote | undefined => {
  const source = agent.source;
  return isPlainObject(source) && isPlainObject(source.a2a) ? (source.a2a as unknown as A2aRemote) : undefined;
};

/**
 * Maps an agent.yaml with `a2a` (a published A2A card, issue 20) onto a managed agent of the caller:
 * no model, no tools; its turns go to the remote agent named by the card (remote-agent-turn.ts).
 * What would give it a model or tools (`config`, `mcp_servers`, `requires`) is refused by name.
 */
export const a2aAgentOf = (manifest: Record<string, unknown>): A2aAgentMapping => {
  for (const field of ['config', 'mcp_servers', 'requires']) {
    const v = manifest[field];
    if (v !== undefined && v !== null && !(isPlainObject(v) && Object.keys(v).length === 0)) throw badRequest(`agent.yaml field '${field}' cannot run with a2a: an A2A agent runs on its remote agent`);
  }
  const a2a = manifest.a2a as Record<string, unknown>;
  const remote = remoteOf(a2a.card as Record<string, unknown>, 'a2a.card');
  const name = String(manifest.name);
  const author = String(manifest.author);
  const version = String(manifest.version);
  const examples = Array.isArray(manifest.examples) ? manifest.examples : [];
  return {
    input: {
      name: `${author}/${name}@${version}`.slice(0, 256),
      description: typeof manifest.description === 'string' ? manifest.description.slice(0, 2048) : null,
      model: A2A_MODEL,
      system: null,
      tools: [],
      metadata: {
        'agentry.package': `${author}/${name}`.slice(0, 512),
        'agentry.package_version': version.slice(0, 512),
        'agentry.a2a_url': remote.url.slice(0, 512),
      },
    },
    remote,
    suggestedPrompts: examples
      .filter(isPlainObject)
      .map((e) => e.prompt)
      .filter((p): p is string => typeof p === 'string'),
  };
};
