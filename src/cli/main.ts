import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { CliError, formatFailure } from './cli-error.js';
import { registerA2aCommand } from './commands/a2a.js';
import { registerAccessCommand } from './commands/access.js';
import { registerCompletionCommand } from './commands/completion.js';
import { registerAgentCommand } from './commands/agent.js';
import { registerDeprecateCommand } from './commands/deprecate.js';
import { registerDevModelCommand } from './commands/dev-model.js';
import { registerDistTagCommand } from './commands/dist-tag.js';
import { registerGcCommand } from './commands/gc.js';
import { registerMirrorCommand } from './commands/mirror.js';
import { registerInfoCommand } from './commands/info.js';
import { registerInitCommand } from './commands/init.js';
import { registerLoginCommand } from './commands/login.js';
import { registerLogoutCommand } from './commands/logout.js';
import { registerMcpCommand } from './commands/mcp.js';
import { registerOciCommand } from './commands/oci.js';
import { registerOrgCommand } from './commands/org.js';
import { registerPackCommand } from './commands/pack.js';
import { registerPublishCommand } from './commands/publish.js';
import { registerPullCommand } from './commands/pull.js';
import { registerKeygenCommand } from './commands/keygen.js';
import { registerSignCommand } from './commands/sign.js';
import { registerScopeCommand } from './commands/scope.js';
import { registerRecipeCommand } from './commands/recipe.js';
import { registerSearchCommand } from './commands/search.js';
import { registerSecretsCommand } from './commands/secrets.js';
import { registerRuntimeCommand, registerServeCommand, registerWorkerCommand } from './commands/serve.js';
import { registerRunCommand } from './commands/run.js';
import { registerSessionCommand } from './commands/session.js';
import { registerEvalCommand } from './commands/eval.js';
import { registerIntegrationCommand } from './commands/integration.js';
import { registerWebhookCommand } from './commands/webhook.js';
import { registerSkillCommand } from './commands/skill.js';
import { registerTokenCommand } from './commands/token.js';
import { registerUnpublishCommand } from './commands/unpublish.js';
import { registerUserCommand } from './commands/user.js';
import { registerVersionsCommand } from './commands/versions.js';
import { registerWhoamiCommand } from './commands/whoami.js';
import { EXIT, exitCodesHelp } from './exit-codes.js';

const cliVersion = (): string => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
};

/** The `agentry` program with every command. Errors are thrown to `main`, never printed by commander alone. */
export const buildProgram = (): Command => {
  const program = new Command('agentry')
    .description('Agentry: publish, find and pull AI agents, skills, MCP servers and recipes')
    .version(cliVersion(), '-v, --version')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`agentry: ${text.replace(/^error: /, '').replace(/\n(?=\(Did you mean)/, ' ')}`) })
    .addHelpText('after', `\n${exitCodesHelp()}\n`);
  for (const register of [
    registerServeCommand,
    registerLoginCommand,
    registerLogoutCommand,
    registerWhoamiCommand,
    registerInitCommand,
    registerPackCommand,
    registerPublishCommand,
    registerSearchCommand,
    registerInfoCommand,
    registerVersionsCommand,
    registerPullCommand,
    registerKeygenCommand,
    registerSignCommand,
    registerDistTagCommand,
    registerDeprecateCommand,
    registerUnpublishCommand,
    registerTokenCommand,
    registerUserCommand,
    registerOrgCommand,
    registerGcCommand,
    registerScopeCommand,
    registerAccessCommand,
    registerSecretsCommand,
    registerMirrorCommand,
    registerRecipeCommand,
    registerSkillCommand,
    registerOciCommand,
    registerAgentCommand,
    registerMcpCommand,
    registerSessionCommand,
    registerRunCommand,
    registerA2aCommand,
    registerEvalCommand,
    registerIntegrationCommand,
    registerWebhookCommand,
    registerCompletionCommand,
    registerDevModelCommand,
    registerRuntimeCommand,
    registerWorkerCommand,
  ]) {
    register(program);
  }
  return program;
};

/** Runs the CLI on `argv` (as in process.argv) and answers the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    // Commander has printed its message (or the help or version, which exit 0).
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    process.stderr.write(formatFailure(e));
    return e instanceof CliError ? e.exitCode : EXIT.failure;
  }
}
