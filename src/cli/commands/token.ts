import { Option, type Command } from 'commander';
import { CliError } from '../cli-error.js';
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
  runtime?: boolean;
  account?: string;
  allAccounts?: boolean;
}

const scopesText = (scopes: string[] | null): string => (scopes && scopes.length > 0 ? scopes.map((s) => (s.startsWith('@') ? s : `@${s}`)).join(', ') : 'all');

const runtimeReach = (t: CreatedToken): string => {
  if (t.permission !== 'runtime') return '';
  return t.all_accounts ? ' for ALL accounts' : t.account ? ` for @${t.account}` : '';
};

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
        .option('--expires-in-days <n>', 'expire it after this many days', wholeNumber(1))
        .option('--runtime', "a 'runtime' token (administrators): resolves one account's secrets, model-card keys and agentspaces for an agent runtime (same as --permission runtime)")
        .option('--account <name>', 'with --runtime: the account or organisation it belongs to and resolves for (default: your own)')
        .option('--all-accounts', "with --runtime: resolve every account's secrets, keys and agentspaces (server-wide; audited)"),
    ),
  ).action(async (opts: CreateOptions) => {
    if (opts.runtime && opts.permission !== 'publish' && opts.permission !== 'runtime') {
      throw new CliError(`--runtime makes a 'runtime' token; it cannot be combined with --permission ${opts.permission}`);
    }
    const permission = opts.runtime ? 'runtime' : opts.permission;
    if ((opts.account !== undefined || opts.allAccounts) && permission !== 'runtime') {
      throw new CliError('--account and --all-accounts are for runtime tokens: add --runtime');
    }
    if (opts.account !== undefined && opts.allAccounts) throw new CliError('Give either --account or --all-accounts, not both');
    const conn = await connect(opts);
    requireToken(conn);
    const body = {
      name: opts.name,
      permission,
      ...(opts.scope ? { scopes: opts.scope.map((s) => (s.startsWith('@') ? s : `@${s}`)) } : {}),
      ...(opts.expiresInDays !== undefined ? { expires_in_days: opts.expiresInDays } : {}),
      ...(opts.account !== undefined ? { account: opts.account.replace(/^@/, '') } : {}),
      ...(opts.allAccounts ? { all_accounts: true } : {}),
    };
    const created = await conn.client.json<CreatedToken>('POST', '/tokens', { body });
    printResult(opts.json === true, created, () => [
      `Created token ${created.id} '${created.name}' (${created.permission}${runtimeReach(created)}; scopes: ${scopesText(created.scopes)}; expires: ${created.expires_at ?? 'never'})`,
      created.token,
      'This is the only time the token is shown: store it now.',
    ]);
  });

  withJsonOption(withRegistryOptions(token.command('list').alias('ls').description('List your tokens (never their secrets)'))).action(async (opts: RegistryOptions & JsonOption) => {
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
              t.permission === 'runtime' && t.all_accounts ? 'runtime (all accounts)' : t.permission,
              scopesText(t.scopes),
              formatDate(t.expires_at),
              formatDate(t.last_used_at),
              t.revoked_at ? 'revoked' : 'active',
            ]),
          ),
    );
  });

  withJsonOption(withRegistryOptions(token.command('revoke').description('Revoke a token').argument('<id>', 'the token id (see `agentry token list`)', wholeNumber(1)))).action(
    async (id: number, opts: RegistryOptions & JsonOption) => {
      const conn = await connect(opts);
      requireToken(conn);
      const r = await conn.client.json<{ success: boolean }>('DELETE', `/tokens/${id}`, { subject: `token ${id}` });
      printResult(opts.json === true, r, () => `Revoked token ${id}`);
    },
  );
};
