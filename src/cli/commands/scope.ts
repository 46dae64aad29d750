import type { Command } from 'commander';
import { connect, requireToken } from '../connection.js';
import { withJsonOption, withRegistryOptions, type JsonOption, type RegistryOptions } from '../global-options.js';
import { printResult, renderTable } from '../output.js';

type Options = RegistryOptions & JsonOption;

interface ScopeView {
  name: string;
  owner: string;
  created_at: string;
}

export const registerScopeCommand = (program: Command): void => {
  const scope = program.command('scope').description('Namespace scopes (reverse-DNS prefixes such as io.github.alice, for MCP server names)');

  withJsonOption(
    withRegistryOptions(
      scope
        .command('add')
        .description('Register a namespace scope to a user or organisation (admin)')
        .argument('<name>', "a reverse-DNS namespace, like 'io.github.alice' or 'com.example'")
        .requiredOption('--owner <account>', 'the user or organisation that will own it'),
    ),
  ).action(async (name: string, opts: Options & { owner: string }) => {
    const conn = await connect(opts);
    requireToken(conn);
    const created = await conn.client.json<ScopeView>('POST', '/scopes', { body: { name: name.replace(/^@/, ''), owner: opts.owner.replace(/^@/, '') } });
    printResult(opts.json === true, created, () => [`Registered @${created.name} to @${created.owner}`]);
  });

  withJsonOption(withRegistryOptions(scope.command('ls').description('List the scopes an account owns').argument('<account>', 'the user or organisation'))).action(
    async (account: string, opts: Options) => {
      const conn = await connect(opts);
      const r = await conn.client.json<{ scopes: ScopeView[] }>('GET', `/users/${encodeURIComponent(account.replace(/^@/, ''))}/scopes`, { subject: `@${account.replace(/^@/, '')}` });
      printResult(opts.json === true, r, () => [
        renderTable(
          ['SCOPE', 'OWNER', 'CREATED'],
          r.scopes.map((s) => [`@${s.name}`, s.owner, s.created_at]),
        ),
      ]);
    },
  );
};
