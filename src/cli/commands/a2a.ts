import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { PublishResult } from '../api-types.js';
import { CliError } from '../cli-error.js';
import { connect, requireToken } from '../connection.js';
import { EXIT } from '../exit-codes.js';
import { withJsonOption, withRegistryOptions, type JsonOption, type RegistryOptions } from '../global-options.js';
import { printResult } from '../output.js';

type Options = RegistryOptions & JsonOption & { file?: string; scope?: string; name?: string };

/** `agentry a2a import`: a remote A2A agent (its agent card, by URL or from a file) published as an agent package. */
export const registerA2aCommand = (program: Command): void => {
  const a2a = program.command('a2a').description('A2A (Agent2Agent) agents');

  withJsonOption(
    withRegistryOptions(
      a2a
        .command('import')
        .description('Import a remote A2A agent: publish its agent card as an agent package whose runs call it (the server fetches a URL through its egress policy)')
        .argument('[url]', 'where the agent card is, e.g. https://agent.example/.well-known/agent-card.json')
        .option('--file <card.json>', 'read the agent card from this file instead of a URL')
        .option('--scope <scope>', 'the scope to publish to (default: your own)')
        .option('--name <name>', "the package name (default: the card's name, lower-cased, other characters as '-')"),
    ),
  ).action(async (url: string | undefined, opts: Options) => {
    if ((url === undefined) === (opts.file === undefined)) throw new CliError('give the agent card as a URL or with --file, not both', [], EXIT.usage);
    let card: unknown;
    if (opts.file !== undefined) {
      const file = opts.file;
      const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
        throw new CliError(`cannot read ${file}: ${e.code ?? e.message}`);
      });
      try {
        card = JSON.parse(text) as unknown;
      } catch {
        throw new CliError(`${file} is not JSON (an A2A agent card is a JSON document)`);
      }
    }
    const conn = await connect(opts);
    requireToken(conn);
    const body = { ...(url !== undefined ? { url } : { card }), ...(opts.scope ? { scope: opts.scope.replace(/^@/, '') } : {}), ...(opts.name ? { name: opts.name } : {}) };
    const r = await conn.client.json<PublishResult>('POST', '/a2a/imports', { body });
    printResult(opts.json === true, r, () => [`Imported ${r.full_name}@${r.version} (kind ${r.kind}): run it with agentry run ${r.full_name}`]);
  });
};
