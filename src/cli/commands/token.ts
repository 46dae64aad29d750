import { Option, type Command } from 'commander';
import type { CreatedToken, TokenView } from '../api-types.js';
import { connect, requireToken } from '../connection.js';
import { withJsonOption, withRegistryOptions, type JsonOption, type RegistryOptions } from '../global-options.js';
import { wholeNumber } from '../option-parsers.js';
import { formatDate, printResult, renderTable } from '../output.js';

interface CreateOptions extends RegistryOptions, JsonOption {
  name: string;
  permission: string;
  scope?: string[];
  expiresInDays?: number;
}

const scopesText = (scopes: string[] | null): string => (scopes && scopes.length > 0 ? scopes.map((s) => (s.startsWith('@') ? s : `@${s}`)).join(', ') : 'all');

export const registerTokenCommand = (program: Command): void => {
  const token = program.command('token').description('Manage your API tokens');

  withJsonOption(
    withRegistryOptions(
      token
        .command('create')
        .description('Create a token (its secret is shown only once)')
        .option('--name <name>', 'a name to recognise it by', 'agentry-cli')
        .addOption(new Option('--permission <permission>', 'what it may do').choices(['read', 'publish', 'admin', 'runtime']).default('publish'))
        .option('--scope <scope...>', 'restrict it to these scopes, like @alice @acme')
        .option('--expires-in-days <n>', 'expire it after this many days', wholeNumber(1)),
    ),
  ).action(async (opts: CreateOptions) => {
    const conn = await connect(opts);
    requireToken(conn);
    const body = {
      name: opts.name,
      permission: opts.permission,
      ...(opts.scope ? { scopes: opts.scope.map((s) => (s.startsWith('@') ? s : `@${s}`)) } : {}),
      ...(opts.expiresInDays !== undefined ? { expires_in_days: opts.expiresInDays } : {}),
    };
    const created = await conn.client.json<CreatedToken>('POST', '/tokens', { body });
    printResult(opts.json === true, created, () => [
      `Created token ${created.id} '${created.name}' (${created.permission}; scopes: ${scopesText(created.scopes)}; expires: ${created.expires_at ?? 'never'})`,
      created.token,
      'This is the only time the token is shown: store it now.',
    ]);
  });

  withJsonOption(withRegistryOptions(token.command('list').alias('ls').description('List your tokens (never their secrets)'))).action(
    async (opts: RegistryOptions & JsonOption) => {
      const conn = await connect(opts);
      requireToken(conn);
      const r = await conn.client.json<{ tokens: TokenView[] }>('GET', '/tokens');
      printResult(opts.json === true, r, () =>
        r.tokens.length === 0
          ? '(no tokens)'
          : renderTable(
              ['ID', 'NAME', 'PREFIX', 'PERMISSION', 'SCOPES', 'EXPIRES', 'LAST USED', 'STATUS'],
              r.tokens.map((t) => [
                String(t.id),
                t.name,
                t.prefix,
                t.permission,
                scopesText(t.scopes),
                formatDate(t.expires_at),
                formatDate(t.last_used_at),
                t.revoked_at ? 'revoked' : 'active',
              ]),
            ),
      );
    },
  );

  withJsonOption(withRegistryOptions(token.command('revoke').description('Revoke a token').argument('<id>', 'the token id (see `agentry token list`)', wholeNumber(1)))).action(
    async (id: number, opts: RegistryOptions & JsonOption) => {
      const conn = await connect(opts);
      requireToken(conn);
      const r = await conn.client.json<{ success: boolean }>('DELETE', `/tokens/${id}`, { subject: `token ${id}` });
      printResult(opts.json === true, r, () => `Revoked token ${id}`);
    },
  );
};
