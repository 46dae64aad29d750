import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { connect, requireToken } from '../connection.js';
import { withJsonOption, withRegistryOptions, type JsonOption, type RegistryOptions } from '../global-options.js';
import { printResult, writeWarning } from '../output.js';

interface AgentPublishResult {
  package: string;
  version: string;
  digest: string;
  agent_id: string;
  agent_version: number;
}

type AgentPublishOptions = RegistryOptions & JsonOption & { name?: string; packageVersion?: string; agentVersion?: string };

/** `agentry agent publish <id>`: a managed agent (`/v1/agents`) becomes a semver agent package. */
export const registerAgentCommand = (program: Command): void => {
  const agent = program.command('agent').description('Managed agents (the /v1/agents API)');
  withJsonOption(
    withRegistryOptions(
      agent
        .command('publish')
        .description("Publish a managed agent as a semver agent package in your scope (its system prompt, model, tools and skills in agent.yaml's config)")
        .argument('<id>', 'the managed agent id (agent_…)')
        .option('--name <name>', "the package name (default: the agent's name as a slug)")
        .option('--package-version <semver>', 'the package version (default: <agent version>.0.0)')
        .option('--agent-version <n>', 'publish this version of the agent (default: its current one)'),
    ),
  ).action(async (id: string, opts: AgentPublishOptions) => {
    const conn = await connect(opts);
    requireToken(conn);
    let agentVersion: number | undefined;
    if (opts.agentVersion !== undefined) {
      agentVersion = Number(opts.agentVersion);
      if (!Number.isInteger(agentVersion) || agentVersion < 1) throw new CliError(`--agent-version must be a whole number from 1 (got '${opts.agentVersion}')`);
    }
    const body = JSON.stringify({ name: opts.name, version: opts.packageVersion, agent_version: agentVersion });
    // A fresh Idempotency-Key, the same on every attempt: a retry after a lost reply is never a 409.
    const r = (await conn.client.publishIdempotently(
      'POST',
      `/v1/agents/${encodeURIComponent(id)}/publish`,
      () => ({ headers: { 'content-type': 'application/json', accept: 'application/json' }, body, subject: id }),
      { onRetry: (reason) => writeWarning(`the reply to the publish was lost (${reason}); sending it again`) },
    )) as AgentPublishResult;
    printResult(opts.json === true, r, () => `Published ${r.package}@${r.version} from ${r.agent_id} version ${r.agent_version} (${r.digest})`);
  });
};
