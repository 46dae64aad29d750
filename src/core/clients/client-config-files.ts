import type { ClientFormat } from './client-apps.js';

/** One client's settings file, as the editor needs it. */
export interface ClientConfigTarget {
  /** Path segments below the home directory the editor was made for. */
  file: string[];
  format: ClientFormat;
  serversKey: string[];
  storage: 'map' | 'array';
}

/**
 * The port for reading and editing MCP client settings files (src/adapters/client-config/). Every
 * edit is made under a file lock, written atomically (temp file + rename), keeps comments where the
 * format allows (JSONC, YAML), backs the file up before Agentry's first change to it, and refuses a
 * malformed file (AgentryError `bad_request`), leaving it untouched.
 */
export interface ClientConfigFiles {
  /** Whether a file or folder exists at these segments below home. */
  exists(path: string[]): Promise<boolean>;
  /** Creates or replaces the server entry `name` (creating the file and its folders when missing). */
  upsert(target: ClientConfigTarget, name: string, entry: Record<string, unknown>): Promise<void>;
  /** Removes the server entry; false when the file or the entry was not there (the file is then not touched). */
  remove(target: ClientConfigTarget, name: string): Promise<boolean>;
  /** The server names the file holds ([] when there is no file). */
  names(target: ClientConfigTarget): Promise<string[]>;
}

/** The endpoint of one running MCP server, as a client config needs it. */
export interface WorkloadEndpoint {
  name: string;
  url: string;
  transport: 'stdio' | 'sse' | 'streamable-http';
  group: string;
}

/** The port the workload supervisor implements so that registering a client writes its running servers. */
export interface WorkloadEndpoints {
  running(): Promise<WorkloadEndpoint[]>;
}
