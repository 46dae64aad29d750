import type { TokenService } from '../tokens/token-service.js';
import { AgentService } from './agents/agent-service.js';
import { ApiKeyService } from './api-keys/api-key-service.js';
import { EnvironmentService } from './environments/environment-service.js';
import { FileService } from './files/file-service.js';
import type { ManagedDeps } from './managed-deps.js';

const DEFAULT_MAX_FILE_BYTES = 100 * 1024 * 1024;

/** Configuration of the managed-agents plane, from the server's configuration. */
export interface ManagedOptions {
  /** Largest file accepted by the files resource, in bytes. */
  maxFileBytes?: number;
}

/** The managed-agents plane of the core (issue 7): agents, environments, API keys, … */
export class ManagedAgents {
  readonly agents: AgentService;
  readonly environments: EnvironmentService;
  readonly apiKeys: ApiKeyService;
  readonly files: FileService;

  constructor(deps: ManagedDeps, tokens: TokenService, opts: ManagedOptions = {}) {
    this.agents = new AgentService(deps);
    this.environments = new EnvironmentService(deps);
    this.apiKeys = new ApiKeyService(deps, tokens);
    this.files = new FileService(deps, opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES);
  }
}
