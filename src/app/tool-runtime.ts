import { join } from 'node:path';
import type { EgressPolicy } from '../adapters/egress/index.js';
import { BubblewrapSandbox } from '../adapters/sandbox/bubblewrap.js';
import { LocalToolRuntime } from '../adapters/tools/local-tool-runtime.js';
import type { ToolRuntime } from '../core/tools/builtin-toolset.js';
import type { ServerConfig } from './config.js';

/** Where the sessions' workspaces are: `<data dir>/workspaces`. */
export const workspacesDirOf = (config: Pick<ServerConfig, 'dataDir'>): string => join(config.dataDir, 'workspaces');

/**
 * The built-in toolset of managed-agent sessions for this server (or runtime worker): workspaces under
 * `<data dir>/workspaces`, bash in bubblewrap with the server's egress policy behind its proxy,
 * web_fetch through the same policy, bash on the host only with `--unsafe-local-tools`.
 */
export const createToolRuntime = (config: Pick<ServerConfig, 'dataDir' | 'unsafeLocalTools' | 'bwrapPath'>, egress: EgressPolicy): ToolRuntime =>
  new LocalToolRuntime({
    baseDir: workspacesDirOf(config),
    sandbox: new BubblewrapSandbox({ egress, bwrapPath: config.bwrapPath }),
    fetch: egress.fetch,
    unsafeLocalTools: config.unsafeLocalTools,
  });
