import { Type } from 'typebox';

/**
 * TypeBox schemas of ToolHive's groups, clients, discovery, secrets, version and system routes
 * (stacklok/toolhive docs/server/swagger.json): they validate requests and document `/openapi.json`.
 * Request bodies accept unknown fields, as ToolHive's JSON decoding does.
 */

const Str = Type.String();
const Name = (description: string) => Type.String({ minLength: 1, maxLength: 100, description });
const Names = (description: string) => Type.Array(Name(description), { maxItems: 50 });

// --- groups ---

export const Group = Type.Object(
  { name: Str, registered_clients: Type.Array(Str), skills: Type.Array(Str), plugins: Type.Array(Str) },
  { $id: 'ToolhiveGroup', description: 'A group of workloads and the MCP clients registered to it' },
);
export const GroupList = Type.Object({ groups: Type.Array(Group) });
export const CreateGroupBody = Type.Object({ name: Type.String({ maxLength: 100, description: 'Name of the group to create' }) });
export const CreateGroupResponse = Type.Object({ name: Str });
export const GroupParams = Type.Object({ name: Name('Group name') });
export const DeleteGroupQuery = Type.Object({
  'with-workloads': Type.Optional(Type.String({ maxLength: 10, description: "Delete the group's workloads too ('true'); otherwise they move to the default group" })),
});

// --- clients ---

const ClientName = Name(
  'A client application: claude-code, cursor, vscode, vscode-insider, cline, roo-code, windsurf, windsurf-jetbrains, gemini-cli, zed, continue, goose, codex, kimi-cli, copilot-cli',
);
const GroupNames = Names('Group name');

export const RegisteredClient = Type.Object({ name: Str, groups: Type.Array(Str) }, { $id: 'ToolhiveRegisteredClient' });
export const ClientList = Type.Array(RegisteredClient);
export const CreateClientBody = Type.Object({ name: ClientName, groups: Type.Optional(GroupNames) });
export const CreateClientResponse = Type.Object({ name: Str, groups: Type.Optional(Type.Array(Str)) }, { $id: 'ToolhiveCreateClientResponse' });
export const BulkClientBody = Type.Object({ names: Type.Array(ClientName, { maxItems: 50 }), groups: Type.Optional(GroupNames) });
export const BulkClientResponse = Type.Array(CreateClientResponse);
export const ClientParams = Type.Object({ name: ClientName });
export const ClientGroupParams = Type.Object({ name: ClientName, group: Name('Group name to remove the client from') });

export const ClientStatusList = Type.Object({
  clients: Type.Array(Type.Object({ client_type: Str, installed: Type.Boolean(), registered: Type.Boolean(), supports_skills: Type.Boolean(), supports_plugins: Type.Boolean() })),
});

// --- secrets ---

export const SetupSecretsBody = Type.Object({
  provider_type: Type.String({ maxLength: 40, description: "encrypted (Agentry's built-in store), environment, or this server's provider" }),
  password: Type.Optional(Type.String({ maxLength: 1024, description: 'Ignored: the built-in store is keyed by the server (AGENTRY_SECRET_KEY)' })),
});
export const SetupSecretsResponse = Type.Object({ provider_type: Str, message: Str });
export const SecretsProvider = Type.Object({
  name: Str,
  provider_type: Str,
  capabilities: Type.Object({ can_read: Type.Boolean(), can_write: Type.Boolean(), can_delete: Type.Boolean(), can_list: Type.Boolean(), can_cleanup: Type.Boolean() }),
});
export const SecretKeys = Type.Object({ keys: Type.Array(Type.Object({ key: Str, description: Type.Optional(Str) })) });
export const CreateSecretBody = Type.Object({
  key: Type.String({ maxLength: 128, description: 'Secret key name (letters, digits, _ . -; not starting with a digit)' }),
  value: Type.String({ maxLength: 65536, description: 'Secret value (never returned)' }),
});
export const UpdateSecretBody = Type.Object({ value: CreateSecretBody.properties.value });
export const SecretResponse = Type.Object({ key: Str, message: Str });
export const SecretParams = Type.Object({ key: Type.String({ minLength: 1, maxLength: 128, description: 'Secret key' }) });

// --- version and system ---

export const VersionResponse = Type.Object({ version: Str });
