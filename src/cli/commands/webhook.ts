import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { Whoami } from '../api-types.js';
import { CliError } from '../cli-error.js';
import { connect, requireToken, type Connection } from '../connection.js';
import { EXIT } from '../exit-codes.js';
import { withJsonOption, withRegistryOptions, type JsonOption, type RegistryOptions } from '../global-options.js';
import { formatDate, printJson, printResult, renderTable, truncate, writeLine } from '../output.js';

/** The parts of the webhook answers this command reads. */
interface WebhookJson {
  id: string;
  owner?: string;
  url?: string;
  events?: string[];
  created_at?: string;
}
interface DeliveryJson {
  id: string;
  event?: string;
  status?: string;
  attempts?: number;
  response_code?: number | null;
  duration_ms?: number | null;
  response_body?: string | null;
  replay_of?: string | null;
  created_at?: string;
}

type OwnerOptions = RegistryOptions & JsonOption & { org?: string; user?: string };
type AddOptions = OwnerOptions & { event?: string[]; secretEnv?: string; secretFile?: string };

const collect = (value: string, previous: string[] = []): string[] => [
  ...previous,
  ...value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean),
];

const withOwner = (cmd: Command): Command => cmd.option('--org <org>', "an organisation's webhooks (its owners manage them)").option('--user <user>', "a user's webhooks (default: your own)");

/** `/orgs/<org>` or `/users/<user>`: whose webhooks (the caller's own by default). */
const ownerPath = async (conn: Connection, opts: OwnerOptions): Promise<string> => {
  if (opts.org && opts.user) throw new CliError('give --org or --user, not both', [], EXIT.usage);
  if (opts.org) return `/orgs/${encodeURIComponent(opts.org.replace(/^@/, ''))}`;
  const user = opts.user ?? (await conn.client.json<Whoami>('GET', '/whoami')).username;
  return `/users/${encodeURIComponent(user.replace(/^@/, ''))}`;
};

const client = async (opts: RegistryOptions): Promise<Connection> => {
  const conn = await connect(opts);
  requireToken(conn);
  return conn;
};

/** The secret: from an environment variable or a file, else a new random one (printed once). */
const secretOf = async (opts: AddOptions): Promise<{ secret: string; generated: boolean }> => {
  if (opts.secretEnv && opts.secretFile) throw new CliError('give --secret-env or --secret-file, not both', [], EXIT.usage);
  if (opts.secretEnv) {
    const v = process.env[opts.secretEnv];
    if (!v) throw new CliError(`the environment variable ${opts.secretEnv} (--secret-env) is not set`, [], EXIT.usage);
    return { secret: v, generated: false };
  }
  if (opts.secretFile) {
    try {
      return { secret: (await readFile(opts.secretFile, 'utf8')).trim(), generated: false };
    } catch (e) {
      throw new CliError(`cannot read ${opts.secretFile} (--secret-file): ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return { secret: `whsec_${randomBytes(24).toString('base64url')}`, generated: true };
};

/** `agentry webhook …`: webhooks of users and orgs (POST/GET/DELETE /api/v1/{users,orgs}/:name/webhooks). */
export const registerWebhookCommand = (program: Command): void => {
  const webhook = program.command('webhook').description('Webhooks of your account or an organisation: signed POSTs on package, session and workload events');

  withJsonOption(
    withRegistryOptions(
      withOwner(
        webhook
          .command('add')
          .description('Add a webhook; its secret signs every delivery (X-Agentry-Signature) and is never shown again')
          .argument('<url>', 'where deliveries are POSTed (http or https)')
          .option(
            '--event <event>',
            'an event to send (repeat, or comma-separated): package.published, package.unpublished, package.deprecated, dist_tag.changed, session.idle, session.terminated, workload.status',
            collect,
          )
          .option('--secret-env <var>', 'read the secret from this environment variable')
          .option('--secret-file <path>', 'read the secret from this file (default: a new random secret, printed once)'),
      ),
    ),
  ).action(async (url: string, opts: AddOptions) => {
    const events = opts.event ?? [];
    if (events.length === 0) throw new CliError('name the events to send with --event (see `agentry webhook add --help`)', [], EXIT.usage);
    const { secret, generated } = await secretOf(opts);
    const conn = await client(opts);
    const owner = await ownerPath(conn, opts);
    const w = await conn.client.json<WebhookJson>('POST', `${owner}/webhooks`, { body: { url, events, secret } });
    if (opts.json) printJson(generated ? { ...w, secret } : w);
    else {
      writeLine(`Added webhook ${w.id} of @${w.owner ?? '?'}: ${w.url ?? url} on ${(w.events ?? events).join(', ')}`);
      if (generated) writeLine(`Secret (shown only now; verify X-Agentry-Signature with it): ${secret}`);
    }
  });

  withJsonOption(withRegistryOptions(withOwner(webhook.command('ls').description('List the webhooks (never their secrets)')))).action(async (opts: OwnerOptions) => {
    const conn = await client(opts);
    const r = await conn.client.json<{ webhooks: WebhookJson[] }>('GET', `${await ownerPath(conn, opts)}/webhooks`);
    printResult(opts.json === true, r, () =>
      r.webhooks.length === 0
        ? 'No webhooks.'
        : renderTable(
            ['ID', 'URL', 'EVENTS', 'CREATED'],
            r.webhooks.map((w) => [w.id, w.url ?? '-', (w.events ?? []).join(','), formatDate(w.created_at)]),
          ),
    );
  });

  withJsonOption(withRegistryOptions(withOwner(webhook.command('rm').description('Delete a webhook and its delivery log').argument('<id>', 'the webhook id (wh_…)')))).action(
    async (id: string, opts: OwnerOptions) => {
      const conn = await client(opts);
      const r = await conn.client.json<unknown>('DELETE', `${await ownerPath(conn, opts)}/webhooks/${encodeURIComponent(id)}`, { subject: id });
      if (opts.json) printJson(r);
      else writeLine(`Deleted webhook ${id}`);
    },
  );

  withJsonOption(
    withRegistryOptions(
      withOwner(
        webhook
          .command('deliveries')
          .description("A webhook's delivery log, newest first; --replay sends one again")
          .argument('<id>', 'the webhook id (wh_…)')
          .option('--limit <n>', 'at most this many (default 20)')
          .option('--replay <delivery>', 'send this delivery again (a new delivery with the same body)'),
      ),
    ),
  ).action(async (id: string, opts: OwnerOptions & { limit?: string; replay?: string }) => {
    const conn = await client(opts);
    const base = `${await ownerPath(conn, opts)}/webhooks/${encodeURIComponent(id)}`;
    if (opts.replay) {
      const d = await conn.client.json<DeliveryJson>('POST', `${base}/deliveries/${encodeURIComponent(opts.replay)}/replay`, { subject: opts.replay });
      printResult(opts.json === true, d, () => `Queued delivery ${d.id} (a replay of ${opts.replay})`);
      return;
    }
    const limit = opts.limit === undefined ? 20 : Number(opts.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw new CliError('--limit must be a whole number from 1 to 200', [], EXIT.usage);
    const r = await conn.client.json<{ deliveries: DeliveryJson[] }>('GET', `${base}/deliveries`, { query: { limit }, subject: id });
    printResult(opts.json === true, r, () =>
      r.deliveries.length === 0
        ? 'No deliveries.'
        : renderTable(
            ['ID', 'EVENT', 'STATUS', 'ATTEMPTS', 'CODE', 'MS', 'RESPONSE', 'CREATED'],
            r.deliveries.map((d) => [
              d.id,
              d.event ?? '-',
              d.status ?? '-',
              String(d.attempts ?? 0),
              d.response_code === null || d.response_code === undefined ? '-' : String(d.response_code),
              d.duration_ms === null || d.duration_ms === undefined ? '-' : String(d.duration_ms),
              truncate((d.response_body ?? '').replace(/\s+/g, ' '), 30) || '-',
              formatDate(d.created_at),
            ]),
          ),
    );
  });
};
