import { Type, type Static } from 'typebox';
import { WORKLOAD_STATUSES, type WorkloadStatus } from '../../core/workloads/workload.js';
import type { UpgradeStatus } from '../../core/workloads/workload-config.js';

/**
 * TypeBox schemas of ToolHive's workloads API (stacklok/toolhive docs/server/swagger.json, pkg_api_v1.*):
 * the same field names and types, so ToolHive's clients send and read them unchanged. Agentry adds
 * `command` (an explicit command, administrators only) and `visibility` to the create request.
 */

const Str = Type.String();
const Opt = <T extends Parameters<typeof Type.Optional>[0]>(t: T) => Type.Optional(t);
const StrMap = Type.Record(Type.String(), Type.String());
const Name = Type.String({ minLength: 1, maxLength: 200, description: 'Workload name' });

export const WorkloadParams = Type.Object({ name: Name });

const Outbound = Type.Object({
  allow_host: Opt(Type.Array(Type.String({ maxLength: 255 }), { maxItems: 100 })),
  allow_port: Opt(Type.Array(Type.Integer({ minimum: 1, maximum: 65535 }), { maxItems: 100 })),
  insecure_allow_all: Opt(Type.Boolean()),
});
export const PermissionProfile = Type.Object(
  {
    name: Opt(Str),
    read: Opt(Type.Array(Type.String({ maxLength: 4096 }), { maxItems: 100 })),
    write: Opt(Type.Array(Type.String({ maxLength: 4096 }), { maxItems: 100 })),
    network: Opt(Type.Object({ mode: Opt(Str), outbound: Opt(Outbound), inbound: Opt(Type.Object({ allow_host: Opt(Type.Array(Str)) })) })),
    privileged: Opt(Type.Boolean()),
  },
  { $id: 'ToolhivePermissionProfile', description: "ToolHive's permissions.Profile" },
);

const ToolOverride = Type.Object({ name: Opt(Type.String({ maxLength: 128 })), description: Opt(Type.String({ maxLength: 4096 })) });
const SecretParameter = Type.Object({ name: Type.String({ maxLength: 128 }), target: Type.String({ maxLength: 128 }) });
const RegistryHeader = Type.Object({ name: Str, description: Opt(Str), required: Opt(Type.Boolean()), secret: Opt(Type.Boolean()), default: Opt(Str), choices: Opt(Type.Array(Str)) });
const HeaderForward = Type.Object({ add_headers_from_secret: Opt(StrMap), add_plaintext_headers: Opt(StrMap) });

/** The fields createRequest and updateRequest share. */
const commonFields = {
  image: Opt(Type.String({ maxLength: 1000, description: 'npx://package@version, uvx://package@version or an OCI image (administrators)' })),
  url: Opt(Type.String({ maxLength: 2000, description: 'A remote MCP server to proxy (administrators)' })),
  command: Opt(Type.String({ maxLength: 1000, description: 'Agentry: an explicit command to run sandboxed, with cmd_arguments (administrators)' })),
  cmd_arguments: Opt(Type.Array(Type.String({ maxLength: 10_000 }), { maxItems: 200 })),
  transport: Opt(Str),
  proxy_mode: Opt(Str),
  proxy_port: Opt(Type.Integer()),
  target_port: Opt(Type.Integer()),
  host: Opt(Str),
  group: Opt(Type.String({ maxLength: 100 })),
  env_vars: Opt(StrMap),
  secrets: Opt(Type.Array(SecretParameter, { maxItems: 100 })),
  volumes: Opt(Type.Array(Type.String({ maxLength: 4096 }), { maxItems: 100 })),
  permission_profile: Opt(PermissionProfile),
  network_isolation: Opt(Type.Boolean()),
  tools: Opt(Type.Array(Type.String({ maxLength: 128 }), { maxItems: 1000 })),
  tools_override: Opt(Type.Record(Type.String(), ToolOverride)),
  headers: Opt(Type.Array(RegistryHeader)),
  header_forward: Opt(HeaderForward),
  trust_proxy_headers: Opt(Type.Boolean()),
  allow_docker_gateway: Opt(Type.Boolean()),
  authz_config: Opt(Str),
  oidc: Opt(Type.Record(Type.String(), Type.Unknown())),
  oauth_config: Opt(Type.Record(Type.String(), Type.Unknown())),
  runtime_config: Opt(Type.Record(Type.String(), Type.Unknown())),
  visibility: Opt(Type.String({ description: 'Agentry: public, internal or private (default private): who may use it through the proxy and see it' })),
};

export const CreateRequest = Type.Object(
  {
    name: Opt(Type.String({ maxLength: 200 })),
    registry: Opt(Type.String({ maxLength: 100, description: "Registry name ('default')" })),
    server: Opt(Type.String({ maxLength: 300, description: "An MCP server of this registry, 'scope/name'" })),
    ...commonFields,
  },
  { $id: 'ToolhiveCreateRequest', description: "ToolHive's createRequest (also the get-workload answer)" },
);
export type CreateRequest = Static<typeof CreateRequest>;

export const UpdateRequest = Type.Object(commonFields, { $id: 'ToolhiveUpdateRequest', description: "ToolHive's updateRequest" });
export type UpdateRequest = Static<typeof UpdateRequest>;

export const CreateWorkloadResponse = Type.Object({ name: Str, port: Type.Integer() });

const Status = Type.Unsafe<WorkloadStatus>({ type: 'string', enum: [...WORKLOAD_STATUSES] });

export const CoreWorkload = Type.Object(
  {
    name: Str,
    package: Str,
    url: Str,
    port: Type.Integer(),
    status: Status,
    status_context: Str,
    transport_type: Type.Union([Type.Literal('stdio'), Type.Literal('sse'), Type.Literal('streamable-http'), Type.Literal('inspector')]),
    proxy_mode: Str,
    remote: Type.Boolean(),
    group: Str,
    labels: StrMap,
    tools: Type.Array(Str),
    created_at: Str,
    started_at: Str,
  },
  { $id: 'ToolhiveWorkload', description: "ToolHive's core.Workload" },
);

export const WorkloadList = Type.Object({ workloads: Type.Array(CoreWorkload) });
export const ListQuery = Type.Object({ all: Opt(Type.Boolean()), group: Opt(Type.String({ maxLength: 100 })) });
export const WorkloadStatusResponse = Type.Object({ status: Status });
export const BulkRequest = Type.Object({ names: Opt(Type.Array(Type.String({ maxLength: 200 }), { maxItems: 1000 })), group: Opt(Type.String({ maxLength: 100 })) });
export const UpgradeRequest = Type.Object({ env: Opt(StrMap), secrets: Opt(Type.Array(Type.String({ maxLength: 300 }), { maxItems: 100 })) });

const EnvVarInfo = Type.Object({ name: Str, description: Opt(Str), required: Type.Boolean(), secret: Type.Boolean(), default: Opt(Str) });
const StringChange = Type.Object({ from: Str, to: Str });
export const CheckResult = Type.Object({
  workload_name: Str,
  status: Type.Unsafe<UpgradeStatus>({ type: 'string', enum: ['up-to-date', 'upgrade-available', 'not-registry-sourced', 'server-not-found', 'unknown'] }),
  current_image: Str,
  candidate_image: Opt(Str),
  registry_server: Opt(Str),
  reason: Opt(Str),
  env_var_drift: Opt(Type.Object({ added: Opt(Type.Array(EnvVarInfo)), removed: Opt(Type.Array(EnvVarInfo)) })),
  config_drift: Opt(Type.Object({ transport: Opt(StringChange), permission_profile: Opt(StringChange) })),
});
export const UpgradeCheckResponse = Type.Object({ result: CheckResult });
export const UpgradeCheckBulkResponse = Type.Object({ results: Type.Array(CheckResult) });

/** ToolHive's runner.RunConfig, the fields Agentry fills (the document has ~57; the rest are container and middleware settings). */
export const RunConfig = Type.Object(
  {
    schema_version: Str,
    name: Str,
    base_name: Str,
    image: Str,
    remote_url: Opt(Str),
    transport: Str,
    proxy_mode: Str,
    port: Type.Integer(),
    cmd_args: Type.Array(Str),
    env_vars: StrMap,
    secrets: Type.Array(Str),
    volumes: Type.Array(Str),
    permission_profile_name_or_path: Str,
    permission_profile: Opt(PermissionProfile),
    isolate_network: Type.Boolean(),
    tools_filter: Type.Array(Str),
    tools_override: Type.Record(Type.String(), ToolOverride),
    group: Str,
    container_labels: StrMap,
    registry_server_name: Opt(Str),
    header_forward: Opt(HeaderForward),
  },
  { additionalProperties: true, $id: 'ToolhiveRunConfig', description: "ToolHive's runner.RunConfig" },
);
