import { Type, type TSchema } from 'typebox';

/**
 * Response schemas of the managed-agents door: the OpenAPI document's answers, and what Fastify
 * serializes with (a property missing here would be dropped from the answer, so every field the
 * views in views.ts and routes/ send is listed; shapes the caller chose are open records).
 */
export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Timestamp = Type.String({ description: 'RFC 3339 date-time' });
const Metadata = Type.Record(Type.String(), Type.String());
/** An object whose keys the caller or the provider chose: serialized as it is. */
export const Open = Type.Record(Type.String(), Type.Unknown());
const lifetime = { created_at: Timestamp, updated_at: Timestamp, archived_at: Nullable(Timestamp) };

export const Deleted = <T extends string>(type: T) => Type.Object({ id: Type.String(), type: Type.Literal(type) });

export const Agent = Type.Object({
  type: Type.Literal('agent'),
  id: Type.String(),
  version: Type.Integer(),
  name: Type.String(),
  description: Nullable(Type.String()),
  model: Type.Object(
    {
      id: Type.String(),
      effort: Type.Optional(Type.Object({ type: Type.String() }, { additionalProperties: true })),
      speed: Type.Optional(Type.String()),
      inference_geo: Type.Optional(Type.String()),
    },
    { additionalProperties: true },
  ),
  system: Nullable(Type.String()),
  tools: Type.Array(Open),
  mcp_servers: Type.Array(
    Type.Union([
      Type.Object({ name: Type.String(), type: Type.Literal('url'), url: Type.String() }),
      Type.Object({ name: Type.String(), type: Type.Literal('workload'), workload: Type.String() }),
      Type.Object({ name: Type.String(), type: Type.Literal('package'), package: Type.String(), version: Type.String() }),
    ]),
  ),
  skills: Type.Array(Type.Object({ type: Type.String(), skill_id: Type.String(), version: Type.String() })),
  metadata: Metadata,
  multiagent: Nullable(Open),
  execution_identity: Open,
  environment_id: Nullable(Type.String()),
  ...lifetime,
});

export const AgentPackage = Type.Object({
  type: Type.Literal('agent_package'),
  package: Type.String({ description: '@scope/name' }),
  version: Type.String(),
  digest: Type.String(),
  agent_id: Type.String(),
  agent_version: Type.Integer(),
});

export const Environment = Type.Object({
  type: Type.Literal('environment'),
  id: Type.String(),
  name: Type.String(),
  description: Nullable(Type.String()),
  config: Open,
  metadata: Metadata,
  scope: Type.Optional(Type.Union([Type.Literal('organization'), Type.Literal('account')])),
  /** A self-hosted environment's own key, in the answer that made it only. */
  environment_key: Type.Optional(Type.String()),
  ...lifetime,
});

const WorkState = Type.Union([Type.Literal('queued'), Type.Literal('starting'), Type.Literal('active'), Type.Literal('stopping'), Type.Literal('stopped')]);

/** A work item of a self-hosted environment (the SDK's `BetaSelfHostedWork`). */
export const Work = Type.Object({
  type: Type.Literal('work'),
  id: Type.String(),
  environment_id: Type.String(),
  state: WorkState,
  data: Type.Object({ type: Type.Literal('session'), id: Type.String() }),
  metadata: Metadata,
  secret: Nullable(Type.String()),
  created_at: Type.String(),
  acknowledged_at: Nullable(Type.String()),
  started_at: Nullable(Type.String()),
  latest_heartbeat_at: Nullable(Type.String()),
  stop_requested_at: Nullable(Type.String()),
  stopped_at: Nullable(Type.String()),
});

export const WorkHeartbeat = Type.Object({
  type: Type.Literal('work_heartbeat'),
  last_heartbeat: Type.String(),
  lease_extended: Type.Boolean(),
  state: WorkState,
  ttl_seconds: Type.Number(),
});

export const WorkQueueStats = Type.Object({
  type: Type.Literal('work_queue_stats'),
  depth: Type.Integer(),
  pending: Type.Integer(),
  oldest_queued_at: Nullable(Type.String()),
  workers_polling: Nullable(Type.Integer()),
});

export const ApiKey = Type.Object({
  type: Type.Literal('api_key'),
  id: Type.String(),
  name: Type.String(),
  prefix: Type.String(),
  permission: Type.String(),
  created_at: Timestamp,
  last_used_at: Nullable(Timestamp),
  expires_at: Nullable(Timestamp),
});

export const CreatedApiKey = Type.Object({ ...ApiKey.properties, key: Type.String({ description: 'The key; shown only in this answer' }) });

export const File = Type.Object({
  type: Type.Literal('file'),
  id: Type.String(),
  filename: Type.String(),
  mime_type: Type.String(),
  size_bytes: Type.Integer(),
  created_at: Timestamp,
  expires_at: Nullable(Timestamp),
  downloadable: Type.Boolean(),
  scope: Nullable(Type.Object({ type: Type.Literal('session'), id: Type.String() })),
  session_id: Nullable(Type.String()),
});

/** Bytes of a download; never serialized (a stream or a Buffer is sent as it is). */
export const Bytes = Type.Unsafe<unknown>({ type: 'string', format: 'binary' });

/** `GET /v1/files/:id`: the metadata to `Accept: application/json` (the SDK), else the bytes (002). */
export const FileOrBytes = Type.Union([File, Bytes], { description: 'The metadata to Accept: application/json (the SDK), else the bytes (002)' });

export const Skill = Type.Object({
  type: Type.Literal('skill'),
  id: Type.String(),
  display_name: Type.String(),
  display_title: Type.String(),
  description: Type.String(),
  name: Type.String(),
  source: Type.Object({ type: Type.Union([Type.Literal('custom'), Type.Literal('anthropic')]) }),
  latest_version_id: Nullable(Type.String()),
  latest_version: Nullable(Type.String()),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const SkillVersion = Type.Object({
  type: Type.Literal('skill_version'),
  id: Type.String(),
  version: Type.String(),
  skill_id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  created_at: Timestamp,
});

export const MemoryStore = Type.Object({
  type: Type.Literal('memory_store'),
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  metadata: Metadata,
  ...lifetime,
});

const memoryFields = {
  type: Type.Literal('memory'),
  id: Type.String(),
  memory_store_id: Type.String(),
  memory_version_id: Type.String(),
  path: Type.String(),
  content_sha256: Type.String(),
  content_size_bytes: Type.Integer(),
  content: Type.Optional(Type.String({ description: "Left out of the 'basic' view" })),
  created_at: Timestamp,
  updated_at: Timestamp,
};
export const Memory = Type.Object(memoryFields);

export const MemorySearch = Type.Object({
  data: Type.Array(Type.Object({ ...memoryFields, score: Type.Number() })),
  ranking: Type.Union([Type.Literal('embeddings'), Type.Literal('full_text')]),
});

export const Vault = Type.Object({
  type: Type.Literal('vault'),
  id: Type.String(),
  display_name: Type.String(),
  name: Type.String(),
  metadata: Metadata,
  has_secret: Type.Boolean(),
  secret_updated_at: Nullable(Timestamp),
  ...lifetime,
});

export const Credential = Type.Object({
  type: Type.Literal('vault_credential'),
  id: Type.String(),
  vault_id: Type.String(),
  display_name: Nullable(Type.String()),
  metadata: Metadata,
  auth: Type.Record(Type.String(), Type.Unknown(), { description: 'The auth (its `type` and settings) without its secret fields' }),
  ...lifetime,
});

const modelCardFields = {
  type: Type.Literal('model_card'),
  id: Type.String(),
  model_id: Type.String(),
  provider: Type.Union([Type.Literal('ant'), Type.Literal('ant-compatible'), Type.Literal('oai'), Type.Literal('oai-compatible')]),
  model: Type.String(),
  base_url: Type.String(),
  custom_header_names: Type.Array(Type.String()),
  api_key_last4: Type.String(),
  api_key_preview: Type.String(),
  list_price: Type.Union([
    Type.Object({ currency: Type.Literal('USD'), input_per_mtok: Type.String(), output_per_mtok: Type.String(), cache_read_per_mtok: Type.String(), cache_write_per_mtok: Type.String() }),
    Type.Null(),
  ]),
  probed_at: Timestamp,
  created_at: Timestamp,
  updated_at: Timestamp,
};
export const ModelCard = Type.Object(modelCardFields);

export const ModelCardKey = Type.Object({ ...modelCardFields, api_key: Type.String(), custom_headers: Type.Record(Type.String(), Type.String()) });

/** One outcome of a session (`user.define_outcome`) and where its evaluation stands (the SDK's `BetaManagedAgentsOutcomeEvaluationResource`). */
export const OutcomeEvaluation = Type.Object({
  type: Type.Literal('outcome_evaluation'),
  outcome_id: Type.String(),
  description: Type.String(),
  iteration: Type.Integer({ minimum: 0 }),
  result: Type.Union([
    Type.Literal('pending'),
    Type.Literal('running'),
    Type.Literal('evaluating'),
    Type.Literal('satisfied'),
    Type.Literal('max_iterations_reached'),
    Type.Literal('failed'),
    Type.Literal('interrupted'),
  ]),
  explanation: Nullable(Type.String()),
  completed_at: Nullable(Timestamp),
});

/** A session: the agent it runs (a snapshot of its config), its status, usage and stats. */
export const Session = Type.Object(
  {
    type: Type.Literal('session'),
    id: Type.String(),
    status: Type.Union([Type.Literal('idle'), Type.Literal('running'), Type.Literal('rescheduling'), Type.Literal('terminated')]),
    title: Nullable(Type.String()),
    agent: Open,
    environment_id: Type.String(),
    metadata: Metadata,
    vault_ids: Type.Array(Type.String()),
    resources: Type.Array(Open),
    outcome_evaluations: Type.Array(OutcomeEvaluation),
    budget: Nullable(Open),
    usage: Open,
    stats: Type.Object({ active_seconds: Type.Number(), duration_seconds: Type.Number() }),
    ...lifetime,
  },
  { additionalProperties: true },
);

/** `GET /v1/sessions`: a page of sessions, with the SDK's `prev_page` (always null: pages go forward). */
export const SessionList = Type.Object({
  data: Type.Array(Session),
  next_page: Nullable(Type.String()),
  prev_page: Nullable(Type.String()),
  has_more: Type.Boolean(),
});

/**
 * An event of a session's log; its `type` decides its other fields, which are sent as they are. Typed
 * for the handlers as the open record the session service keeps (every event it records has these three).
 */
export const SessionEvent = Type.Unsafe<Record<string, unknown>>(
  Type.Object(
    {
      id: Type.String(),
      type: Type.String({ description: 'user.message, agent.message, agent.tool_use, session.status_idle, …' }),
      processed_at: Nullable(Timestamp),
    },
    { additionalProperties: true },
  ),
);

/** `POST /v1/sessions/:id/events`: the events as recorded, with their ids. */
export const SessionEventsSent = Type.Object({ data: Type.Array(SessionEvent) });

/** `GET /v1/sessions/:id/events` as JSON: a page of the log. */
export const SessionEventPage = Type.Object({ data: Type.Array(SessionEvent), next_page: Nullable(Type.String()), has_more: Type.Boolean() });

/**
 * A Server-Sent Events body: `retry:` first, then per event `event: <type>`, `id: <sequence number>` and
 * `data: <the event as JSON>`; `event: ping` on a quiet stream. Fastify never serializes it (the route
 * writes the stream itself); this documents it.
 */
export const SessionEventStream = Type.String({ description: 'text/event-stream: event/id/data frames, each data a SessionEvent as JSON' });

/** A 200 answered as an event stream only. */
export const EventStreamOnly = { content: { 'text/event-stream': { schema: SessionEventStream } } };

const TrialResult = Type.Object({
  case_id: Type.String(),
  trial: Type.Integer({ minimum: 1 }),
  status: Type.Union([Type.Literal('pending'), Type.Literal('running'), Type.Literal('passed'), Type.Literal('failed'), Type.Literal('error'), Type.Literal('cancelled')]),
  session_id: Nullable(Type.String({ description: 'The session the trial ran as' })),
  messages_sent: Type.Integer({ minimum: 0 }),
  score: Nullable(Type.Number({ minimum: 0, maximum: 1 })),
  output: Nullable(Type.String({ description: "The agent's last message (cut at 4000 characters)" })),
  reason: Nullable(Type.String({ description: 'Why it passed, failed or could not be scored' })),
  started_at: Nullable(Timestamp),
  ended_at: Nullable(Timestamp),
});

/** An eval run: the agent over a set of cases as sessions, with its progress, per-case results and aggregate score. */
export const EvalRun = Type.Object({
  type: Type.Literal('eval_run'),
  id: Type.String(),
  run_id: Type.String({ description: "The id again, under OMA's name" }),
  name: Nullable(Type.String()),
  status: Type.Union([Type.Literal('pending'), Type.Literal('running'), Type.Literal('completed'), Type.Literal('failed'), Type.Literal('cancelled')]),
  agent: Type.Object({ type: Type.Literal('agent'), id: Type.String(), version: Type.Integer() }),
  environment_id: Type.String(),
  metadata: Metadata,
  concurrency: Type.Integer(),
  task_count: Type.Integer({ description: 'How many cases' }),
  progress: Type.Object({
    total: Type.Integer(),
    finished: Type.Integer(),
    pending: Type.Integer(),
    running: Type.Integer(),
    passed: Type.Integer(),
    failed: Type.Integer(),
    errored: Type.Integer(),
    cancelled: Type.Integer(),
  }),
  score: Nullable(Type.Number({ description: 'The mean score of the finished trials (an error scores 0)' })),
  cases: Type.Array(
    Type.Object({
      id: Type.String(),
      trials: Type.Integer(),
      verifier: Type.String(),
      passed: Type.Integer(),
      score: Nullable(Type.Number()),
      results: Type.Array(TrialResult),
    }),
  ),
  error: Nullable(Type.String({ description: 'Why the run failed as a whole' })),
  created_at: Timestamp,
  updated_at: Timestamp,
  started_at: Nullable(Timestamp),
  ended_at: Nullable(Timestamp),
});

export const EvalRunList = Type.Object({ data: Type.Array(EvalRun), next_page: Nullable(Type.String()), has_more: Type.Boolean() });
