import type { TokenService } from '../tokens/token-service.js';
import { AgentService } from './agents/agent-service.js';
import { ApiKeyService } from './api-keys/api-key-service.js';
import { EnvironmentService } from './environments/environment-service.js';
import { FileService } from './files/file-service.js';
import { ManagedSkillService } from './skills/managed-skill-service.js';
import type { Embedder } from '../embeddings/embedder.js';
import type { CapabilityProbe } from './model-cards/capability-probe.js';
import { MemoryStoreService } from './memory/memory-store-service.js';
import { VaultService } from './vaults/vault-service.js';
import { ModelCardService } from './model-cards/model-card-service.js';
import type { ManagedDeps } from './managed-deps.js';
import { LocalSessionBus, type SessionBus } from '../sessions/event-bus.js';
import { SessionLog } from '../sessions/session-log.js';
import { SessionService, type SessionServiceOptions } from '../sessions/session-service.js';
import { SessionResourceService } from '../sessions/session-resources.js';
import { EnvironmentWorkService } from '../sessions/environment-work.js';
import { ThreadService } from '../sessions/threads/thread-service.js';
import { packageAgentResolver } from '../sessions/formats/package-agents.js';
import { IntegrationService, type IntegrationOptions } from '../integrations/integration-service.js';

const DEFAULT_MAX_FILE_BYTES = 100 * 1024 * 1024;
const DEFAULT_MAX_UNPACKED_BYTES = 200 * 1024 * 1024;

/** Configuration of the managed-agents plane, from the server's configuration. */
export interface ManagedOptions {
  /** Largest file accepted by the files resource, in bytes. */
  maxFileBytes?: number;
  /** Largest expanded size of a stored skill read back (the tarball limit). */
  maxUnpackedBytes?: number;
  /** Embeddings (an OpenAI-compatible endpoint); memory search ranks by embeddings when set. */
  embedder?: Embedder;
  /** Checks a model card against its provider before it is saved; without one, model cards cannot be created. */
  probe?: CapabilityProbe;
  /** How session events reach every process (PostgreSQL LISTEN/NOTIFY); default: this process only. */
  sessionBus?: SessionBus;
  sessions?: SessionServiceOptions;
  /** Chat-platform integrations: their Web API adapter and where failed replies are reported. */
  integrations?: IntegrationOptions;
}

/** The managed-agents plane of the core (issue 7): agents, environments, API keys, … */
export class ManagedAgents {
  readonly agents: AgentService;
  readonly environments: EnvironmentService;
  readonly apiKeys: ApiKeyService;
  readonly files: FileService;
  readonly skills: ManagedSkillService;
  readonly memoryStores: MemoryStoreService;
  readonly vaults: VaultService;
  readonly modelCards: ModelCardService;
  readonly sessions: SessionService;
  /** The threads of multi-agent sessions. */
  readonly threads: ThreadService;
  readonly sessionResources: SessionResourceService;
  /** The work queue of self-hosted environments. */
  readonly work: EnvironmentWorkService;
  readonly integrations: IntegrationService;

  constructor(deps: ManagedDeps, tokens: TokenService, opts: ManagedOptions = {}) {
    this.agents = new AgentService(deps);
    this.environments = new EnvironmentService(deps);
    this.apiKeys = new ApiKeyService(deps, tokens);
    this.files = new FileService(deps, opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES);
    this.skills = new ManagedSkillService(deps, opts.maxUnpackedBytes ?? DEFAULT_MAX_UNPACKED_BYTES);
    this.vaults = new VaultService(deps);
    this.modelCards = new ModelCardService(deps, opts.probe);
    this.memoryStores = new MemoryStoreService(deps, opts.embedder);
    const log = new SessionLog(deps.storage, opts.sessionBus ?? new LocalSessionBus(), deps.clock, deps.events);
    this.work = new EnvironmentWorkService(deps, log.bus);
    this.sessions = new SessionService(deps, this.agents, log, { rubricFiles: this.files, ...opts.sessions }, this.work);
    this.sessions.resolveAgentsOfType('package', packageAgentResolver(deps, this.agents));
    this.threads = new ThreadService(deps, this.sessions);
    this.sessionResources = new SessionResourceService(deps, log);
    this.integrations = new IntegrationService(deps, this.sessions, opts.integrations);
  }
}
