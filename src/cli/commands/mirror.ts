import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { connect, requireToken, type Connection } from '../connection.js';
import { EXIT } from '../exit-codes.js';
import { withJsonOption, withRegistryOptions, type JsonOption, type RegistryOptions } from '../global-options.js';
import { durationSeconds } from '../option-parsers.js';
import { formatDate, printJson, printResult, renderTable, writeLine } from '../output.js';
import { ProgressBar } from '../progress.js';
import { accessLevel, type AccessLevel } from '../visibility-option.js';

interface MirrorView {
  name: string;
  kind: 'mcp' | 'oci' | 'agentry';
  url: string;
  username: string | null;
  has_password: boolean;
  ttl_seconds: number;
  visibility: AccessLevel;
  created_at: string;
}

interface AddOptions extends RegistryOptions, JsonOption {
  url: string;
  username?: string;
  passwordEnv?: string;
  ttl?: number;
  visibility?: AccessLevel;
}

interface UpdateOptions extends RegistryOptions, JsonOption {
  ttl?: number;
  visibility?: AccessLevel;
}

const VISIBILITY_HELP = 'who may read what the mirror brings in: public (anyone), internal (every signed-in account) or private (members of the organisation agentry-mirrors, administrators)';

/** A sync job as the server shows it (GET /api/v1/mirrors/:name/syncs/:id). */
interface SyncJson {
  id: string;
  mirror: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  filter: string | null;
  progress: { done: number; total: number | null; phase: string };
  report: { added: string[]; updated: string[]; unchanged: number; removed: string[]; failed: { name: string; error: string }[] } | null;
  error: string | null;
  resumed_from: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

interface SyncOptions extends RegistryOptions, JsonOption {
  repo: string[];
  filter?: string;
  fresh?: boolean;
  wait?: boolean;
  follow?: string;
  cancel?: string;
  interval?: string;
}

const KINDS = ['mcp', 'oci', 'agentry'];

const collectRepo = (value: string, previous: string[]): string[] => [...previous, value];

const syncPath = (name: string, id?: string): string => `/mirrors/${encodeURIComponent(name)}/sync${id === undefined ? '' : `s/${encodeURIComponent(id)}`}`;

const progressText = (j: SyncJson): string => (j.progress.total === null ? j.progress.phase : `${j.progress.done}/${j.progress.total}`);

const changesOf = (j: SyncJson): string => {
  const r = j.report;
  if (!r) return j.error ? `error: ${j.error}` : '-';
  return `${r.added.length} added, ${r.updated.length} updated, ${r.unchanged} unchanged, ${r.removed.length} removed, ${r.failed.length} failed`;
};

/** The report of an ended job, one line per change. */
const reportLines = (j: SyncJson): string[] => {
  const head = `Sync ${j.id} of ${j.mirror} ${j.status}${j.resumed_from ? ` (resumed from ${j.resumed_from})` : ''}: ${changesOf(j)}`;
  const r = j.report;
  if (!r) return [head];
  return [head, ...r.added.map((n) => `  + ${n}`), ...r.updated.map((n) => `  ~ ${n}`), ...r.removed.map((n) => `  - ${n}`), ...r.failed.map((f) => `  ! ${f.name}: ${f.error}`)];
};

/** Follows a job to its end: a bar on a TTY, a line per change of progress otherwise (stderr); Ctrl-C leaves the job running. */
const follow = async (conn: Connection, name: string, first: SyncJson, opts: SyncOptions, intervalMs: number): Promise<SyncJson> => {
  const tty = process.stderr.isTTY === true && !opts.json;
  const onSigint = (): void => {
    process.stderr.write(`\nThe sync ${first.id} goes on in the server. Follow it: agentry mirror sync ${name} --follow ${first.id}; cancel it: agentry mirror sync ${name} --cancel ${first.id}\n`);
    process.exit(130);
  };
  process.on('SIGINT', onSigint);
  let bar: ProgressBar | undefined;
  let shown = '';
  let j = first;
  try {
    for (;;) {
      if (!opts.json) {
        if (tty && j.progress.total !== null) {
          bar ??= new ProgressBar(`Syncing ${name}`, j.progress.total, process.stderr, Date.now, (n) => String(n));
          bar.moveTo(j.progress.done);
        } else if (!tty && progressText(j) !== shown) {
          shown = progressText(j);
          process.stderr.write(`sync ${j.id}: ${j.status} ${shown}\n`);
        }
      }
      if (j.progress.phase === 'finished') break;
      await new Promise((r) => setTimeout(r, intervalMs));
      j = await conn.client.json<SyncJson>('GET', syncPath(name, j.id));
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
  if (j.status === 'succeeded') bar?.finish();
  else bar?.clear();
  return j;
};

const describe = (m: MirrorView): string =>
  `${m.name}  ${m.kind}  ${m.url}${m.username ? `  (as ${m.username}${m.has_password ? ', password in the secret store' : ''})` : ''}  ttl ${m.ttl_seconds}s  ${m.visibility}`;

/** `agentry mirror add|update|ls|rm|sync|syncs`: upstreams (pull-through mirrors), administrators only. */
export const registerMirrorCommand = (program: Command): void => {
  const mirror = program.command('mirror').description('Manage upstreams this registry mirrors (admin)');

  withJsonOption(
    withRegistryOptions(
      mirror
        .command('add <kind> <name>')
        .description('Add an upstream: kind is mcp, oci or agentry; an OCI upstream named hub serves /v2/hub/<upstream repository>')
        .requiredOption('--url <url>', 'the upstream base URL')
        .option('--username <user>', 'log in to the upstream as this user')
        .option('--password-env <VAR>', "the environment variable holding the password (kept in the server's secret store)")
        .option('--ttl <duration>', 'serve tags and listings this long before asking the upstream again (e.g. 300, 5m, 1h; default 5m)', durationSeconds)
        .option('--visibility <visibility>', `${VISIBILITY_HELP}; default private with --password-env, public without`, accessLevel),
    ),
  ).action(async (kind: string, name: string, opts: AddOptions) => {
    if (!KINDS.includes(kind)) throw new CliError(`unknown mirror kind '${kind}': use mcp, oci or agentry`, [], EXIT.usage);
    if ((opts.username === undefined) !== (opts.passwordEnv === undefined)) throw new CliError('--username and --password-env go together', [], EXIT.usage);
    let password: string | undefined;
    if (opts.passwordEnv !== undefined) {
      password = process.env[opts.passwordEnv];
      if (!password) throw new CliError(`the environment variable ${opts.passwordEnv} (--password-env) is not set`, [], EXIT.usage);
    }
    const conn = await connect(opts);
    requireToken(conn);
    const m = await conn.client.json<MirrorView>('POST', '/mirrors', {
      body: {
        kind,
        name,
        url: opts.url,
        ...(opts.username !== undefined ? { username: opts.username, password } : {}),
        ...(opts.ttl !== undefined ? { ttl_seconds: opts.ttl } : {}),
        ...(opts.visibility !== undefined ? { visibility: opts.visibility } : {}),
      },
    });
    printResult(opts.json === true, m, () => [`Added mirror ${describe(m)}`]);
  });

  withJsonOption(
    withRegistryOptions(
      mirror
        .command('update <name>')
        .description("Change an upstream's visibility or TTL; a new visibility applies at once to everything it brought in")
        .option('--visibility <visibility>', VISIBILITY_HELP, accessLevel)
        .option('--ttl <duration>', 'serve tags and listings this long before asking the upstream again (e.g. 300, 5m, 1h)', durationSeconds),
    ),
  ).action(async (name: string, opts: UpdateOptions) => {
    if (opts.visibility === undefined && opts.ttl === undefined) throw new CliError('nothing to change: give --visibility or --ttl', [], EXIT.usage);
    const conn = await connect(opts);
    requireToken(conn);
    const m = await conn.client.json<MirrorView>('PATCH', `/mirrors/${encodeURIComponent(name)}`, {
      body: { ...(opts.visibility !== undefined ? { visibility: opts.visibility } : {}), ...(opts.ttl !== undefined ? { ttl_seconds: opts.ttl } : {}) },
    });
    printResult(opts.json === true, m, () => [`Updated mirror ${describe(m)}`]);
  });

  withJsonOption(withRegistryOptions(mirror.command('ls').description('List upstreams'))).action(async (opts: RegistryOptions & JsonOption) => {
    const conn = await connect(opts);
    requireToken(conn);
    const r = await conn.client.json<{ mirrors: MirrorView[] }>('GET', '/mirrors');
    printResult(opts.json === true, r.mirrors, () => (r.mirrors.length === 0 ? ['No mirrors'] : r.mirrors.map(describe)));
  });

  withJsonOption(withRegistryOptions(mirror.command('rm <name>').description('Remove an upstream and its stored password'))).action(async (name: string, opts: RegistryOptions & JsonOption) => {
    const conn = await connect(opts);
    requireToken(conn);
    const r = await conn.client.json<{ success: boolean; message: string }>('DELETE', `/mirrors/${encodeURIComponent(name)}`);
    printResult(opts.json === true, r, () => [r.message]);
  });

  withJsonOption(
    withRegistryOptions(
      mirror
        .command('sync <name>')
        .description('Copy what an upstream has into this registry, as a job in the server (progress, resumable, a report of what changed); exit 1 when the job or any item failed')
        .option('--repo <repository>', 'OCI: an upstream repository to sync (repeatable; default: every repository its catalog lists)', collectRepo, [])
        .option('--filter <pattern>', "what to sync, in the kind's terms; with --repo the tag pattern (* and ?), e.g. '1.*'; OCI alone: [repo[,repo…]][:tag pattern]")
        .option('--fresh', 'start over rather than from where an interrupted sync with the same filter stopped')
        .option('--no-wait', 'start the job and print its id, without following it')
        .option('--follow <id>', 'follow a job already started (after Ctrl-C, or --no-wait)')
        .option('--cancel <id>', 'cancel a queued or running job; what it copied stays')
        .option('--interval <ms>', 'how often to read the progress (default 1000)'),
    ),
  ).action(async (name: string, opts: SyncOptions) => {
    const interval = opts.interval === undefined ? 1000 : Number(opts.interval);
    if (!Number.isInteger(interval) || interval < 50 || interval > 60_000) throw new CliError('--interval must be a whole number of milliseconds from 50 to 60000', [], EXIT.usage);
    const starting = opts.repo.length > 0 || opts.filter !== undefined || opts.fresh === true;
    if (opts.cancel !== undefined && (opts.follow !== undefined || starting)) throw new CliError('--cancel goes alone: it stops a job, it starts or follows none', [], EXIT.usage);
    if (opts.follow !== undefined && starting) throw new CliError('--follow follows a job already started: --repo, --filter and --fresh are for a new one', [], EXIT.usage);
    if (opts.repo.length > 0 && opts.filter?.includes(':')) throw new CliError("with --repo, --filter is the tag pattern alone (no ':')", [], EXIT.usage);
    const conn = await connect(opts);
    requireToken(conn);
    if (opts.cancel !== undefined) {
      const j = await conn.client.json<SyncJson>('DELETE', syncPath(name, opts.cancel));
      printResult(opts.json === true, j, () => [`Cancelled sync ${j.id} of ${j.mirror} at ${progressText(j)}; what it copied stays, and the next sync with the same filter takes up from there`]);
      return;
    }
    let job: SyncJson;
    if (opts.follow !== undefined) job = await conn.client.json<SyncJson>('GET', syncPath(name, opts.follow));
    else {
      const filter = opts.repo.length > 0 ? `${opts.repo.join(',')}${opts.filter ? `:${opts.filter}` : ''}` : opts.filter;
      job = await conn.client.json<SyncJson>('POST', syncPath(name), { body: { ...(filter !== undefined ? { filter } : {}), ...(opts.fresh ? { fresh: true } : {}) } });
      if (!opts.json) process.stderr.write(`Started sync ${job.id} of ${name}${job.resumed_from ? `, resuming ${job.resumed_from} at ${progressText(job)}` : ''}\n`);
      if (opts.wait === false) {
        if (opts.json) printJson(job);
        else writeLine(job.id);
        return;
      }
    }
    const j = await follow(conn, name, job, opts, interval);
    // A job that did not succeed says why on stderr alone (--json still prints its document).
    if (opts.json || j.status === 'succeeded') printResult(opts.json === true, j, () => reportLines(j));
    if (j.status === 'failed') throw new CliError(`the sync ${j.id} of ${name} failed${j.error ? `: ${j.error}` : ''}`);
    if (j.status === 'cancelled') throw new CliError(`the sync ${j.id} of ${name} was cancelled at ${progressText(j)}`);
    const failed = j.report?.failed.length ?? 0;
    if (failed > 0) throw new CliError(`${failed} of the items to sync failed (marked !)`);
  });

  withJsonOption(withRegistryOptions(mirror.command('syncs <name>').description("An upstream's sync jobs, newest first").option('--limit <n>', 'at most this many (1 to 100, default 20)'))).action(
    async (name: string, opts: RegistryOptions & JsonOption & { limit?: string }) => {
      const limit = opts.limit === undefined ? undefined : Number(opts.limit);
      if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1 && limit <= 100)) throw new CliError('--limit must be a whole number from 1 to 100', [], EXIT.usage);
      const conn = await connect(opts);
      requireToken(conn);
      const r = await conn.client.json<{ syncs: SyncJson[] }>('GET', `/mirrors/${encodeURIComponent(name)}/syncs${limit !== undefined ? `?limit=${limit}` : ''}`);
      printResult(opts.json === true, r.syncs, () =>
        r.syncs.length === 0
          ? [`No syncs of ${name}`]
          : [
              renderTable(
                ['ID', 'STATUS', 'PROGRESS', 'FILTER', 'STARTED', 'FINISHED', 'CHANGES'],
                r.syncs.map((j) => [j.id, j.status, progressText(j), j.filter ?? '-', formatDate(j.started_at), formatDate(j.finished_at), changesOf(j)]),
              ),
            ],
      );
    },
  );
};
