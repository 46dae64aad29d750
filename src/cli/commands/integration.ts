import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { connect, requireToken, type Connection } from '../connection.js';
import { withJsonOption, withRegistryOptions, type JsonOption, type RegistryOptions } from '../global-options.js';
import { formatDate, printJson, printResult, renderTable, writeLine } from '../output.js';
import { call } from '../session-stream.js';
import { resolveAgent } from './session.js';

/** The parts of the /v1/integrations answers this command reads; every field may be missing from a server of another version. */
interface IntegrationJson {
  id: string;
  provider?: string;
  name?: string;
  status?: string;
  api_base_url?: string;
  workspace?: string | null;
  credentials?: string[];
  events_path?: string;
  last_delivery?: { ok?: boolean; error?: string | null; at?: string } | null;
  created_at?: string;
}
interface ProviderJson {
  id: string;
  name?: string;
  credentials?: string[];
}
interface PublicationJson {
  id: string;
  agent_id?: string;
  environment_id?: string | null;
  workspace?: string | null;
  channel?: string;
  created_at?: string;
}
interface Page<T> {
  data: T[];
  next_page?: string | null;
}

type ListOptions = RegistryOptions & JsonOption & { limit?: string };
type AddOptions = RegistryOptions & JsonOption & { name?: string; credential?: string[]; apiBaseUrl?: string; oauthAuthorizeUrl?: string };
type PublishOptions = RegistryOptions & JsonOption & { agent: string; channel: string; workspace?: string; environment?: string };

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

const readStdin = async (): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
  return Buffer.concat(chunks).toString('utf8').trim();
};

/** `name=value`, `name=@file` (the file's content) or `name=-` (stdin, once): so that a secret need not be on the command line. */
const credentials = async (pairs: readonly string[]): Promise<Record<string, string>> => {
  const out: Record<string, string> = {};
  let stdinUsed = false;
  for (const pair of pairs) {
    const i = pair.indexOf('=');
    if (i <= 0) throw new CliError(`--credential '${pair.split('=')[0]}=…' must be name=value, name=@file or name=-`, [], 2);
    const name = pair.slice(0, i);
    const raw = pair.slice(i + 1);
    if (raw === '-') {
      if (stdinUsed) throw new CliError('only one --credential can be read from stdin', [], 2);
      stdinUsed = true;
      out[name] = await readStdin();
    } else if (raw.startsWith('@')) {
      try {
        out[name] = (await readFile(raw.slice(1), 'utf8')).trim();
      } catch (e) {
        throw new CliError(`cannot read ${raw.slice(1)} for --credential ${name}: ${e instanceof Error ? e.message : String(e)}`);
      }
    } else out[name] = raw;
    if (out[name] === '') throw new CliError(`--credential ${name} is empty`, [], 2);
  }
  return out;
};

const id = (s: string): string => encodeURIComponent(s);

const describe = (i: IntegrationJson): string[] => [
  `${i.name ?? i.id} (${i.id})`,
  `  provider:     ${i.provider ?? '-'}`,
  `  status:       ${i.status ?? '-'}`,
  `  workspace:    ${i.workspace ?? 'any'}`,
  `  api base url: ${i.api_base_url ?? '-'}`,
  `  credentials:  ${(i.credentials ?? []).join(', ') || 'none'} (values are never shown)`,
  `  events path:  ${i.events_path ?? '-'} (the platform's Request URL: the server's public URL + this)`,
  `  last event:   ${i.last_delivery ? `${i.last_delivery.ok ? 'ok' : `failed: ${i.last_delivery.error ?? 'unknown'}`} at ${formatDate(i.last_delivery.at)}` : 'none yet'}`,
  `  created:      ${formatDate(i.created_at)}`,
];

const client = async (opts: RegistryOptions): Promise<Connection> => {
  const conn = await connect(opts);
  requireToken(conn);
  return conn;
};

/** `agentry integration …`: chat-platform installs (the /v1/integrations API) and the publications binding agents to channels. */
export const registerIntegrationCommand = (program: Command): void => {
  const integration = program.command('integration').description('Chat-platform integrations (the /v1/integrations API): install, list, show, remove, and publish agents on channels');

  withJsonOption(
    withRegistryOptions(integration.command('ls').description('List your integrations and the providers this server ships').option('--limit <n>', 'at most this many (default 20)')),
  ).action(async (opts: ListOptions) => {
    const conn = await client(opts);
    const r = await call<Page<IntegrationJson> & { providers?: ProviderJson[] }>(conn, 'GET', '/integrations', undefined, { limit: opts.limit ?? 20 });
    printResult(opts.json === true, r, () => [
      r.data.length === 0
        ? 'No integrations.'
        : renderTable(
            ['ID', 'PROVIDER', 'NAME', 'STATUS', 'WORKSPACE', 'CREATED'],
            r.data.map((i) => [i.id, i.provider ?? '-', i.name ?? '-', i.status ?? '-', i.workspace ?? 'any', formatDate(i.created_at)]),
          ),
      `Providers: ${(r.providers ?? []).map((p) => `${p.id} (credentials: ${(p.credentials ?? []).join(', ')})`).join('; ') || 'none'}`,
    ]);
  });

  withJsonOption(
    withRegistryOptions(integration.command('show').description('Show an integration: status, credentials (names only), where to send events').argument('<id>', 'the integration id (intg_…)')),
  ).action(async (ref: string, opts: RegistryOptions & JsonOption) => {
    const conn = await client(opts);
    const i = await call<IntegrationJson>(conn, 'GET', `/integrations/${id(ref)}`);
    printResult(opts.json === true, i, () => describe(i));
  });

  withJsonOption(
    withRegistryOptions(
      integration
        .command('add')
        .description('Install an integration with credentials (kept in the secret store, never shown again); an OAuth install prints the URL to open')
        .argument('<provider>', 'a provider this server ships (see `integration ls`), e.g. slack')
        .option('--name <name>', 'a display name')
        .option('--credential <name=value>', 'a credential (repeat): name=value, name=@file or name=- (stdin); slack: signing_secret, and bot_token or client_id + client_secret', collect)
        .option('--api-base-url <url>', "the platform's API base (slack default: https://slack.com/api)")
        .option('--oauth-authorize-url <url>', 'OAuth install: the authorization page'),
    ),
  ).action(async (provider: string, opts: AddOptions) => {
    const creds = await credentials(opts.credential ?? []);
    if (Object.keys(creds).length === 0) throw new CliError('give the credentials with --credential name=value (see `agentry integration add --help`)', [], 2);
    const conn = await client(opts);
    const i = await call<IntegrationJson>(conn, 'POST', '/integrations', {
      provider,
      credentials: creds,
      ...(opts.name ? { name: opts.name } : {}),
      ...(opts.apiBaseUrl ? { api_base_url: opts.apiBaseUrl } : {}),
      ...(opts.oauthAuthorizeUrl ? { oauth_authorize_url: opts.oauthAuthorizeUrl } : {}),
    });
    const install = i.status === 'pending' ? await call<{ url?: string }>(conn, 'GET', `/integrations/${id(i.id)}/install`) : undefined;
    if (opts.json) printJson(install ? { ...i, install_url: install.url } : i);
    else {
      for (const line of describe(i)) writeLine(line);
      if (install?.url) writeLine(`Open this URL to finish the install: ${install.url}`);
    }
  });

  withJsonOption(withRegistryOptions(integration.command('rm').description('Uninstall an integration: its credentials and publications go').argument('<id>', 'the integration id (intg_…)'))).action(
    async (ref: string, opts: RegistryOptions & JsonOption) => {
      const conn = await client(opts);
      const r = await call<unknown>(conn, 'DELETE', `/integrations/${id(ref)}`);
      if (opts.json) printJson(r);
      else writeLine(`Deleted ${ref}`);
    },
  );

  const publication = integration.command('publication').description("An integration's publications: which agent answers on which channel");

  withJsonOption(
    withRegistryOptions(
      publication.command('ls').description("List an integration's publications").argument('<integration>', 'the integration id').option('--limit <n>', 'at most this many (default 20)'),
    ),
  ).action(async (ref: string, opts: ListOptions) => {
    const conn = await client(opts);
    const r = await call<Page<PublicationJson>>(conn, 'GET', `/integrations/${id(ref)}/publications`, undefined, { limit: opts.limit ?? 20 });
    printResult(opts.json === true, r, () =>
      r.data.length === 0
        ? 'No publications.'
        : renderTable(
            ['ID', 'AGENT', 'CHANNEL', 'WORKSPACE', 'ENVIRONMENT', 'CREATED'],
            r.data.map((p) => [p.id, p.agent_id ?? '-', p.channel ?? '-', p.workspace ?? 'any', p.environment_id ?? "agent's", formatDate(p.created_at)]),
          ),
    );
  });

  withJsonOption(
    withRegistryOptions(
      publication
        .command('add')
        .description('Publish an agent on a channel: messages there start or continue a session, the reply is posted back')
        .argument('<integration>', 'the integration id')
        .requiredOption('--agent <agent>', 'the agent: its id (agent_…) or its name')
        .requiredOption('--channel <id>', 'the channel id (slack: C…)')
        .option('--workspace <id>', 'only this workspace (slack team id; default: any of the install)')
        .option('--environment <id>', "the environment (default: the agent's)"),
    ),
  ).action(async (ref: string, opts: PublishOptions) => {
    const conn = await client(opts);
    const agent = await resolveAgent(conn, opts.agent);
    const p = await call<PublicationJson>(conn, 'POST', `/integrations/${id(ref)}/publications`, {
      agent_id: agent,
      channel: opts.channel,
      ...(opts.workspace ? { workspace: opts.workspace } : {}),
      ...(opts.environment ? { environment_id: opts.environment } : {}),
    });
    printResult(opts.json === true, p, () => `Published ${p.agent_id ?? agent} on ${p.channel ?? opts.channel} (${p.id})`);
  });

  withJsonOption(
    withRegistryOptions(publication.command('rm').description('Delete a publication').argument('<integration>', 'the integration id').argument('<publication>', 'the publication id')),
  ).action(async (ref: string, pub: string, opts: RegistryOptions & JsonOption) => {
    const conn = await client(opts);
    const r = await call<unknown>(conn, 'DELETE', `/integrations/${id(ref)}/publications/${id(pub)}`);
    if (opts.json) printJson(r);
    else writeLine(`Deleted ${pub}`);
  });
};
