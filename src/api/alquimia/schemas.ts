import { Type } from 'typebox';

/** TypeBox schemas of the Alquimia door (000): they validate requests and generate `/openapi.json`. */

export const AlquimiaError = Type.Object(
  { detail: Type.String(), errors: Type.Optional(Type.Array(Type.String())) },
  { description: "FastAPI's error shape: a message in `detail`, plus one line per problem in `errors`" },
);
export const alquimiaErrors = { 400: AlquimiaError, 401: AlquimiaError, 403: AlquimiaError, 404: AlquimiaError, 409: AlquimiaError, 502: AlquimiaError };

export const AgentspaceQuery = Type.Object({ agentspace_id: Type.String({ default: 'default', minLength: 1, maxLength: 64, description: 'Agentspace identifier' }) }, { additionalProperties: false });

const Visibility = Type.Enum(['private', 'internal', 'public']);
const Status = Type.Enum(['enabled', 'disabled']);
const NullableString = (max: number) => Type.Union([Type.String({ maxLength: max }), Type.Null()]);

export const RepositoryMetadata = Type.Object(
  {
    agentspace_id: Type.String(),
    name: Type.String(),
    namespace: Type.String(),
    tag: Type.String(),
    visibility: Visibility,
    status: Status,
    description: Type.Union([Type.String(), Type.Null()]),
    user_id: Type.Union([Type.String(), Type.Null()]),
    source_repo_id: Type.Union([Type.String(), Type.Null()]),
    on_hold: Type.Array(Type.String(), { description: 'assistant_ids on hold' }),
  },
  { description: 'An agentspace (RepositoryMetadata)' },
);

export const CreateAgentspaceBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128 }),
    namespace: Type.String({ minLength: 1, maxLength: 64, description: 'e.g. local, prod' }),
    tag: Type.Optional(Type.String({ minLength: 1, maxLength: 128, default: 'latest' })),
    description: Type.Optional(NullableString(3000)),
    visibility: Type.Optional(Visibility),
    status: Type.Optional(Status),
    user_id: Type.Optional(NullableString(256)),
    source_repo_id: Type.Optional(NullableString(512)),
    agentspace_id: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: "Agentry: choose the id; by default an owner's first agentspace is 'default', later ones '<namespace>-<name>'" }),
    ),
  },
  { additionalProperties: false },
);

export const UpdateAgentspaceBody = Type.Object(
  {
    agentspace_id: Type.String({ minLength: 1, maxLength: 64 }),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    namespace: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    tag: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    description: Type.Optional(NullableString(3000)),
    visibility: Type.Optional(Visibility),
    status: Type.Optional(Status),
    user_id: Type.Optional(NullableString(256)),
    source_repo_id: Type.Optional(NullableString(512)),
  },
  { additionalProperties: false },
);

export const AgentspaceFilterBody = Type.Object(
  {
    name: Type.Optional(Type.String()),
    namespace: Type.Optional(Type.String()),
    tag: Type.Optional(Type.String()),
    user_id: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    source_repo_id: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    visibility: Type.Optional(Visibility),
    status: Type.Optional(Status),
  },
  { additionalProperties: false, description: 'Every field given must match; an empty body matches every agentspace' },
);

export const AgentFilterBody = Type.Record(Type.String(), Type.Unknown(), {
  description: 'Top-level AssistantConfig fields and the values they must have (a list field matches when it holds the value); an empty body matches every agent',
});

export const AnyObject = Type.Object({}, { additionalProperties: true });

export const Secret = Type.Object({ key: Type.String(), scope: Type.Enum(['global', 'shared', 'local']), description: Type.Union([Type.String(), Type.Null()]) });

export const AddSecretBody = Type.Object(
  {
    secret: Type.Object(
      {
        key: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z_][A-Za-z0-9_.-]*$' }),
        scope: Type.Enum(['global', 'shared', 'local']),
        description: Type.Optional(NullableString(1000)),
      },
      { additionalProperties: false },
    ),
    value: Type.Optional(Type.String({ maxLength: 65536, description: 'The value, kept in the configured secret backend and never returned' })),
  },
  { additionalProperties: false },
);

export const SecretQuery = Type.Object(
  {
    agentspace_id: Type.String({ default: 'default', minLength: 1, maxLength: 64 }),
    assistant_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: "Scope the secret to one agent (scope 'local')" })),
  },
  { additionalProperties: false },
);

export const SecretFilterBody = Type.Object(
  {
    key: Type.Optional(Type.String()),
    scope: Type.Optional(Type.Enum(['global', 'shared', 'local'])),
    description: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    assistant_id: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  },
  { additionalProperties: false },
);

export const AssistantParams = Type.Object({ assistant_id: Type.String({ minLength: 1, maxLength: 128 }) });

export const InspectQuery = Type.Object(
  {
    agentspace_id: Type.String({ default: 'default', minLength: 1, maxLength: 64 }),
    check_resolution: Type.Boolean({ default: true, description: 'Try to read each secret from the configured backend' }),
  },
  { additionalProperties: false },
);

export const GenericError = Type.Object({ id: Type.String({ description: 'The agent or secret concerned' }), message: Type.String(), details: Type.Array(Type.String()) });

export const InspectResponse = Type.Object({
  secrets: Type.Array(Type.Object({ key: Type.String(), scope: Type.Union([Type.Enum(['global', 'shared', 'local']), Type.Null()]) })),
  errors: Type.Array(GenericError),
});

export const ValidateQuery = Type.Object(
  {
    agentspace_id: Type.String({ default: 'default', minLength: 1, maxLength: 64 }),
    dry_run: Type.Boolean({ default: false, description: 'Report what would change; change nothing' }),
  },
  { additionalProperties: false },
);

export const ValidateResponse = Type.Object({
  validated: Type.Integer({ description: 'Agents that pass validation (after migration)' }),
  errors: Type.Array(GenericError),
  deleted_secrets: Type.Array(Secret, { description: 'Secrets removed as unused (empty when dry_run=true)' }),
  migrated: Type.Array(Type.Object({ assistant_id: Type.String(), migration: Type.String(), changes: Type.Array(Type.String()) }), {
    description: 'Agentry: what each migration changed (or would change) in each agent',
  }),
});

export const ResolveQuery = Type.Object(
  {
    agentspace_id: Type.String({ default: 'default', minLength: 1, maxLength: 64 }),
    owner: Type.Optional(Type.String({ minLength: 1, maxLength: 40, description: "The account owning the agentspace (default: the token's account)" })),
  },
  { additionalProperties: false },
);

/**
 * The validator of a route whose body the core checks (`config.coreValidates`): only the
 * querystring is checked here, against `AgentspaceQuery` (unknown fields refused; a missing or
 * empty `agentspace_id` is `default`).
 */
export const agentspaceQueryOnlyValidator =
  ({ httpPart }: { httpPart?: string }) =>
  (data: unknown) => {
    if (httpPart !== 'querystring') return { value: data };
    const q = (data ?? {}) as Record<string, unknown>;
    const extra = Object.keys(q).filter((k) => k !== 'agentspace_id');
    if (extra.length > 0) return { error: Object.assign(new Error(`querystring: unknown field '${extra[0]}'`), { statusCode: 400 }) };
    return { value: { agentspace_id: typeof q.agentspace_id === 'string' && q.agentspace_id !== '' ? q.agentspace_id : 'default' } };
  };
