import type { AgentCard, AgentSkill } from '@a2a-js/sdk';
import type { ServedAgent } from './served-agents.js';

/** The A2A protocol version Agentry's cards and endpoints speak (`@a2a-js/sdk` 0.3). */
export const A2A_PROTOCOL_VERSION = '0.3.0';

/** The extension of the server's own card that lists its public agents with their cards (docs/a2a.md). */
export const AGENT_DIRECTORY_EXTENSION = 'https://agentry.dev/a2a/extensions/agent-directory/v1';

/** Where a card is served below an agent's endpoint (A2A 0.3's well-known name). */
export const AGENT_CARD_FILE = '.well-known/agent-card.json';

const TEXT = ['text/plain'];

/** The card's one security scheme: an Agentry token as a bearer token. */
const security = (base: string): Pick<AgentCard, 'securitySchemes' | 'security'> => ({
  securitySchemes: {
    agentry: {
      type: 'http',
      scheme: 'bearer',
      description: `An Agentry token (agentry login; a token with publish permission runs agents) of ${base}, as Authorization: Bearer <token>`,
    },
  },
  security: [{ agentry: [] }],
});

/** An agent's JSON-RPC endpoint (the card's `url`). */
export const agentEndpoint = (base: string, a: ServedAgent): string => `${base}/a2a/${a.path}`;

/**
 * The A2A card of one agent: its name, description and version from its manifest, a skill for
 * what it does (with its example prompts) and one per tool it may use, streaming, and the
 * Agentry bearer token as its only security scheme.
 */
export const agentCard = (base: string, a: ServedAgent): AgentCard => {
  const main: AgentSkill = {
    id: 'run',
    name: a.name,
    description: a.description,
    tags: a.tags.length > 0 ? a.tags : ['agent'],
    ...(a.examples.length > 0 ? { examples: a.examples } : {}),
  };
  return {
    protocolVersion: A2A_PROTOCOL_VERSION,
    name: a.name,
    description: a.description,
    url: agentEndpoint(base, a),
    preferredTransport: 'JSONRPC',
    version: a.version,
    provider: { organization: 'Agentry', url: base },
    capabilities: { streaming: true, pushNotifications: false, stateTransitionHistory: false },
    defaultInputModes: TEXT,
    defaultOutputModes: TEXT,
    skills: [main, ...a.tools.map((t): AgentSkill => ({ id: t.id, name: t.name, description: t.description, tags: ['tool'] }))],
    ...security(base),
  };
};

/**
 * The server's own card (`/.well-known/agent-card.json`): A2A 0.3 serves one card at that path, so
 * it describes the registry itself, a directory whose skills are its public agents (skill `id` =
 * the agent's path under `/a2a/`) and whose agent-directory extension gives each one's card and
 * endpoint URL. Its own `url` runs nothing: it answers every method with the way to an agent.
 */
export const serverCard = (base: string, version: string, agents: ServedAgent[]): AgentCard => ({
  protocolVersion: A2A_PROTOCOL_VERSION,
  name: 'Agentry',
  description: `The agent registry at ${base}: each skill is one of its public agents, run over A2A at ${base}/a2a/<skill id> (its card: ${base}/a2a/<skill id>/${AGENT_CARD_FILE}).`,
  url: `${base}/a2a`,
  preferredTransport: 'JSONRPC',
  version,
  provider: { organization: 'Agentry', url: base },
  capabilities: {
    streaming: true,
    pushNotifications: false,
    extensions: [
      {
        uri: AGENT_DIRECTORY_EXTENSION,
        description: 'The public agents of this registry, each with its own agent card and JSON-RPC endpoint',
        required: false,
        params: { agents: agents.map((a) => ({ id: a.path, name: a.name, version: a.version, card_url: `${agentEndpoint(base, a)}/${AGENT_CARD_FILE}`, url: agentEndpoint(base, a) })) },
      },
    ],
  },
  defaultInputModes: TEXT,
  defaultOutputModes: TEXT,
  skills: agents.map((a) => ({
    id: a.path,
    name: a.name,
    description: a.description,
    tags: a.tags.length > 0 ? a.tags : ['agent'],
    ...(a.examples.length > 0 ? { examples: a.examples } : {}),
  })),
  ...security(base),
});
