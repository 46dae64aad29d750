import { Type } from 'typebox';

/** Request schemas of the managed-agents door (they are also its OpenAPI document). */
const Loose = Type.Record(Type.String(), Type.Unknown());
const NullableString = (max: number) => Type.Union([Type.String({ maxLength: max }), Type.Null()]);
export const MetadataCreate = Type.Record(Type.String(), Type.String(), { description: 'At most 16 string keys' });
export const MetadataPatch = Type.Union([Type.Record(Type.String(), Type.Union([Type.String(), Type.Null()])), Type.Null()]);

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });

const Model = Type.Union([
  Type.String({ minLength: 1, maxLength: 256 }),
  Type.Object(
    {
      id: Type.String({ minLength: 1, maxLength: 256 }),
      effort: Type.Optional(Type.Union([Type.String(), Type.Object({ type: Type.String() }), Type.Null()])),
      speed: Type.Optional(Type.Union([Type.String(), Type.Null()])),
      inference_geo: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    },
    { additionalProperties: false },
  ),
]);
const Tool = Type.Intersect([Type.Object({ type: Type.String() }), Type.Record(Type.String(), Type.Unknown())]);
// One object (not a union): the validator strips unknown fields branch by branch, which would lose `workload`.
const McpServer = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 256 }),
    type: Type.Optional(
      Type.Union([Type.Literal('url'), Type.Literal('workload'), Type.Literal('package')], {
        description:
          "'url' (Streamable HTTP), or Agentry's 'workload': one of this server's own MCP workloads, by name, or Agentry's 'package': the server `name` of an agent.yaml package's mcp_servers, run sandboxed for the session's account",
      }),
    ),
    url: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
    workload: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: "The workload's name (type 'workload')" })),
    package: Type.Optional(Type.String({ minLength: 1, maxLength: 214, description: "The agent package, '@scope/name' (type 'package')" })),
    version: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: "The agent package's version (type 'package')" })),
  },
  { additionalProperties: false },
);
const SkillRef = Type.Object(
  { type: Type.Union([Type.Literal('anthropic'), Type.Literal('custom')]), skill_id: Type.String({ minLength: 1, maxLength: 256 }), version: Type.Optional(Type.Union([Type.String(), Type.Null()])) },
  { additionalProperties: false },
);

const agentFields = {
  description: Type.Optional(NullableString(2048)),
  system: Type.Optional(NullableString(100_000)),
  multiagent: Type.Optional(Type.Union([Loose, Type.Null()])),
  execution_identity: Type.Optional(Type.Union([Loose, Type.Null()])),
  environment_id: Type.Optional(Type.Union([Type.String({ maxLength: 128 }), Type.Null()])),
};

export const AgentCreateBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 256 }),
    model: Model,
    ...agentFields,
    tools: Type.Optional(Type.Array(Tool, { maxItems: 128 })),
    mcp_servers: Type.Optional(Type.Array(McpServer, { maxItems: 64 })),
    skills: Type.Optional(Type.Array(SkillRef, { maxItems: 64 })),
    metadata: Type.Optional(MetadataCreate),
  },
  { additionalProperties: false },
);

export const AgentUpdateBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    model: Type.Optional(Model),
    ...agentFields,
    tools: Type.Optional(Type.Union([Type.Array(Tool, { maxItems: 128 }), Type.Null()])),
    mcp_servers: Type.Optional(Type.Union([Type.Array(McpServer, { maxItems: 64 }), Type.Null()])),
    skills: Type.Optional(Type.Union([Type.Array(SkillRef, { maxItems: 64 }), Type.Null()])),
    metadata: Type.Optional(MetadataPatch),
    version: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_147_483_647, description: 'The version this update is based on; a stale one is a 409' })),
  },
  { additionalProperties: false },
);

export const EnvironmentCreateBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 256 }),
    description: Type.Optional(NullableString(2048)),
    config: Type.Optional(Type.Union([Loose, Type.Null()])),
    metadata: Type.Optional(MetadataCreate),
    scope: Type.Optional(Type.Union([Type.Literal('organization'), Type.Literal('account'), Type.Null()])),
  },
  { additionalProperties: false },
);

export const EnvironmentUpdateBody = Type.Object(
  {
    name: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 256 }), Type.Null()])),
    description: Type.Optional(NullableString(2048)),
    config: Type.Optional(Type.Union([Loose, Type.Null()])),
    metadata: Type.Optional(MetadataPatch),
    scope: Type.Optional(Type.Union([Type.Literal('organization'), Type.Literal('account'), Type.Null()])),
  },
  { additionalProperties: false },
);

export const ApiKeyCreateBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false });

export const MemoryStoreCreateBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 256 }), description: Type.Optional(NullableString(4096)), metadata: Type.Optional(MetadataCreate) },
  { additionalProperties: false },
);
export const MemoryStoreUpdateBody = Type.Object(
  { name: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 256 }), Type.Null()])), description: Type.Optional(NullableString(4096)), metadata: Type.Optional(MetadataPatch) },
  { additionalProperties: false },
);
export const MemoryCreateBody = Type.Object(
  { path: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 1024 }), Type.Null()])), content: Type.String({ maxLength: 200_000 }) },
  { additionalProperties: false },
);
export const MemoryUpdateBody = Type.Object(
  {
    path: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 1024 }), Type.Null()])),
    content: Type.Optional(Type.Union([Type.String({ maxLength: 200_000 }), Type.Null()])),
    precondition: Type.Optional(Type.Object({ type: Type.Literal('content_sha256'), content_sha256: Type.Optional(Type.String({ maxLength: 64 })) })),
  },
  { additionalProperties: false },
);
export const MemorySearchBody = Type.Object(
  { query: Type.String({ minLength: 1, maxLength: 4096 }), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })) },
  { additionalProperties: false },
);

const Secret = Type.Union([Type.String({ minLength: 1, maxLength: 65536 }), Type.Record(Type.String(), Type.String())], { description: '002: the secret; stored encrypted, never returned' });
export const VaultCreateBody = Type.Object(
  {
    display_name: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: "002's name for display_name" })),
    metadata: Type.Optional(MetadataCreate),
    secret: Type.Optional(Secret),
  },
  { additionalProperties: false },
);
export const VaultUpdateBody = Type.Object(
  {
    display_name: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 256 }), Type.Null()])),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    metadata: Type.Optional(MetadataPatch),
    secret: Type.Optional(Secret),
  },
  { additionalProperties: false },
);
const Auth = Type.Intersect([Type.Object({ type: Type.String() }), Type.Record(Type.String(), Type.Unknown())]);
export const CredentialCreateBody = Type.Object(
  { auth: Auth, display_name: Type.Optional(Type.Union([Type.String({ maxLength: 256 }), Type.Null()])), metadata: Type.Optional(MetadataCreate) },
  { additionalProperties: false },
);
export const CredentialUpdateBody = Type.Object(
  { auth: Type.Optional(Auth), display_name: Type.Optional(Type.Union([Type.String({ maxLength: 256 }), Type.Null()])), metadata: Type.Optional(MetadataPatch) },
  { additionalProperties: false },
);

const Provider = Type.Union([Type.Literal('ant'), Type.Literal('ant-compatible'), Type.Literal('oai'), Type.Literal('oai-compatible')]);
const Cents = Type.String({ pattern: '^(0|[1-9][0-9]{0,14})$', description: 'Cents per million tokens, a whole number as a string' });
const ListPriceBody = Type.Object(
  {
    currency: Type.Optional(Type.Literal('USD')),
    input_per_mtok: Cents,
    output_per_mtok: Cents,
    cache_read_per_mtok: Type.Optional(Cents),
    cache_write_per_mtok: Type.Optional(Cents),
  },
  { additionalProperties: false, description: "Agentry: the model's list price, which session budgets (max_list_cost) are counted in" },
);
const Headers = Type.Record(Type.String(), Type.String(), { description: 'Extra headers sent to the provider; kept with the key' });
export const ModelCardCreateBody = Type.Object(
  {
    model_id: Type.String({ minLength: 1, maxLength: 128, description: 'The name an agent uses as its model to bind this card' }),
    provider: Provider,
    model: Type.String({ minLength: 1, maxLength: 256 }),
    base_url: Type.Optional(Type.Union([Type.String({ maxLength: 2048 }), Type.Null()])),
    custom_headers: Type.Optional(Type.Union([Headers, Type.Null()])),
    api_key: Type.String({ minLength: 1, maxLength: 4096 }),
    list_price: Type.Optional(Type.Union([ListPriceBody, Type.Null()])),
  },
  { additionalProperties: false },
);
export const ModelCardRotateBody = Type.Object(
  {
    model_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    provider: Type.Optional(Provider),
    model: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    base_url: Type.Optional(Type.Union([Type.String({ maxLength: 2048 }), Type.Null()])),
    custom_headers: Type.Optional(Type.Union([Headers, Type.Null()])),
    api_key: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
    list_price: Type.Optional(Type.Union([ListPriceBody, Type.Null()])),
  },
  { additionalProperties: false },
);
