import { Type } from 'typebox';

/**
 * TypeBox schemas of the A2A door (protocol 0.3, JSON-RPC transport): the agent cards and the
 * JSON-RPC envelope. The envelope is checked here; each method's params are checked by
 * `@a2a-js/sdk`'s transport handler and the door (message parts, id lengths).
 */

const Loose = Type.Unknown();

export const AgentSkill = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    description: Type.String(),
    tags: Type.Array(Type.String()),
    examples: Type.Optional(Type.Array(Type.String())),
  },
  { $id: 'A2aAgentSkill' },
);

export const AgentCard = Type.Object(
  {
    protocolVersion: Type.String({ description: 'The A2A protocol version (0.3.0)' }),
    name: Type.String(),
    description: Type.String(),
    url: Type.String({ description: "The agent's JSON-RPC endpoint" }),
    preferredTransport: Type.Optional(Type.String()),
    version: Type.String(),
    provider: Type.Optional(Type.Object({ organization: Type.String(), url: Type.String() })),
    capabilities: Type.Object(
      {
        streaming: Type.Optional(Type.Boolean()),
        pushNotifications: Type.Optional(Type.Boolean()),
        stateTransitionHistory: Type.Optional(Type.Boolean()),
        extensions: Type.Optional(
          Type.Array(
            Type.Object({ uri: Type.String(), description: Type.Optional(Type.String()), required: Type.Optional(Type.Boolean()), params: Type.Optional(Type.Record(Type.String(), Loose)) }),
            { description: "The server card's agent-directory extension: its public agents with their card and endpoint URLs" },
          ),
        ),
      },
      { additionalProperties: false },
    ),
    defaultInputModes: Type.Array(Type.String()),
    defaultOutputModes: Type.Array(Type.String()),
    skills: Type.Array(AgentSkill),
    securitySchemes: Type.Optional(Type.Record(Type.String(), Loose, { description: 'agentry: an Agentry token as a bearer token' })),
    security: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Array(Type.String())))),
  },
  { $id: 'A2aAgentCard', description: 'An A2A 0.3 agent card' },
);

// Not a union: the validator would coerce one member into another (2 into "2"); the SDK checks the id (string, integer or null).
const RpcId = Type.Unknown({ description: 'The request id: a string, an integer or null' });

export const JsonRpcRequest = Type.Object(
  {
    jsonrpc: Type.Literal('2.0'),
    id: Type.Optional(RpcId),
    method: Type.String({ minLength: 1, maxLength: 100, description: 'message/send, message/stream, tasks/get, tasks/cancel' }),
    params: Type.Optional(Type.Record(Type.String(), Loose, { description: 'MessageSendParams (message/send, message/stream), TaskQueryParams (tasks/get), TaskIdParams (tasks/cancel)' })),
  },
  { $id: 'A2aJsonRpcRequest', additionalProperties: false },
);

export const JsonRpcError = Type.Object({ code: Type.Integer(), message: Type.String(), data: Type.Optional(Loose) });

export const JsonRpcResponse = Type.Object(
  {
    jsonrpc: Type.Literal('2.0'),
    id: RpcId,
    result: Type.Optional(Loose),
    error: Type.Optional(JsonRpcError),
  },
  { $id: 'A2aJsonRpcResponse', description: 'A JSON-RPC response: a Task or Message (message/send), a Task (tasks/get, tasks/cancel), or an error' },
);

export const JsonRpcStream = Type.String({ description: 'message/stream: Server-Sent Events, one JSON-RPC response per `data:` line (Task, then status-update and artifact-update events)' });

export const PackageAgentParams = Type.Object({ scope: Type.String({ maxLength: 100 }), name: Type.String({ maxLength: 100 }) });
export const ManagedAgentParams = Type.Object({ id: Type.String({ maxLength: 100 }) });
export const AgentspaceAgentParams = Type.Object({ agentspace_id: Type.String({ maxLength: 100 }), assistant_id: Type.String({ maxLength: 200 }) });
