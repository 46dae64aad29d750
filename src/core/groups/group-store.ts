/** A ToolHive-style group: a named set of workloads, and the MCP clients registered to it. */
export interface GroupRecord {
  name: string;
  createdAt: string;
}

/** A client registered to a group; `group` is '' for a client registered with no group (ToolHive's global list). */
export interface ClientRegistration {
  client: string;
  group: string;
}

/**
 * The port for groups and client registrations (implemented in src/storage/sql/group-store.ts).
 * Groups are server-wide, as in ToolHive: they are what workloads belong to and what clients are
 * registered to. The `default` group always exists (the migration creates it).
 */
export interface GroupStore {
  /** Every group, sorted by name. */
  list(): Promise<GroupRecord[]>;
  get(name: string): Promise<GroupRecord | undefined>;
  /** False when a group of that name already exists. */
  create(group: GroupRecord): Promise<boolean>;
  /** Removes the group and its client registrations; false when there was none. */
  delete(name: string): Promise<boolean>;
  /** Every registration, sorted by client then group. */
  registrations(): Promise<ClientRegistration[]>;
  /** Idempotent. */
  register(client: string, group: string): Promise<void>;
  /** Removes the client from those groups ('' is the no-group list); from every group when `groups` is absent. */
  unregister(client: string, groups?: string[]): Promise<void>;
}
