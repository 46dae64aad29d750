import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
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

  withJsonOption(
    withRegistryOptions(
      scope
        .command('signing')
        .description("Show or set a scope's signing policy: the public keys it trusts, and whether every publish must be signed (owners or an admin)")
        .argument('<scope>', 'the scope')
        .option('--trust <file>', 'a public key (PEM) to trust; repeatable; replaces the trusted keys', (v: string, prev: string[] = []) => [...prev, v])
        .option('--no-trust', 'trust no key (and so require nothing)')
        .option('--require', 'refuse publishes without a valid signature')
        .option('--no-require', 'accept unsigned publishes'),
    ),
  ).action(async (name: string, opts: Options & { trust?: string[] | false; require?: boolean }) => {
    const conn = await connect(opts);
    const path = `/scopes/${encodeURIComponent(name.replace(/^@/, ''))}/signing`;
    let policy = await conn.client.json<SigningView>('GET', path, { subject: `@${name.replace(/^@/, '')}` });
    if (opts.trust !== undefined || opts.require !== undefined) {
      requireToken(conn);
      const keys =
        opts.trust === false
          ? []
          : opts.trust
            ? await Promise.all(
                opts.trust.map((f) =>
                  readFile(f, 'utf8').catch((e: NodeJS.ErrnoException) => {
                    throw new CliError(`cannot read ${f}: ${e.code ?? e.message}`);
                  }),
                ),
              )
            : policy.keys.map((k) => k.pem);
      policy = await conn.client.json<SigningView>('PUT', path, { body: { required: opts.require ?? (opts.trust === false ? false : policy.required), keys } });
    }
    printResult(opts.json === true, policy, () => [
      `${policy.scope}: ${policy.required ? 'publishes must be signed' : 'signatures optional'}; ${policy.keys.length} trusted key${policy.keys.length === 1 ? '' : 's'}`,
      ...policy.keys.map((k) => `  ${k.key_id}`),
    ]);
  });
};

interface SigningView {
  scope: string;
  required: boolean;
  keys: Array<{ key_id: string; pem: string }>;
}
