import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import type { Command } from 'commander';
import type { ClientConfigFileEditor } from '../../adapters/client-config/config-file-editor.js';
import { CLIENT_APPS, clientProblem, installMarkerOf, serverEntry, serverNameProblem, settingsFileOf, type ClientApp, type ClientPlatform } from '../../core/clients/client-apps.js';
import type { ClientConfigTarget } from '../../core/clients/client-config-files.js';
import { CliError } from '../cli-error.js';
import { connect, type Connection } from '../connection.js';
import { EXIT } from '../exit-codes.js';
import { withJsonOption, withRegistryOptions, type JsonOption, type RegistryOptions } from '../global-options.js';
import { printResult, renderTable } from '../output.js';

/** One running MCP server, as ToolHive's `GET /api/v1beta/workloads` lists it (core.Workload). */
interface Workload {
  name: string;
  url?: string;
  status?: string;
  transport_type?: string;
  proxy_mode?: string;
  group?: string;
}

interface ClientOptions extends RegistryOptions, JsonOption {
  group?: string[];
  home?: string;
  self?: boolean;
}

/** The name of the entry for the Agentry server's own MCP endpoint in a client's settings. */
const SELF_ENTRY = 'agentry';

const platform = (): ClientPlatform => (process.platform === 'darwin' || process.platform === 'win32' ? process.platform : 'linux');
const targetOf = (app: ClientApp): ClientConfigTarget => ({ file: settingsFileOf(app, platform()), format: app.format, serversKey: app.serversKey, storage: app.storage });
const shown = (app: ClientApp) => `~/${settingsFileOf(app, platform()).join('/')}`;

/** The home whose settings files are edited: --home, AGENTRY_CLIENTS_HOME, or this account's. */
const homeOf = (opts: ClientOptions): string => {
  const home = opts.home || process.env.AGENTRY_CLIENTS_HOME || homedir();
  return isAbsolute(home) ? home : resolve(home);
};

/** The settings-file editor of that home, loaded on use: its parsers (JSONC, TOML, YAML) are most of the CLI's start-up otherwise. */
const editorFor = async (opts: ClientOptions): Promise<ClientConfigFileEditor> => {
  const { ClientConfigFileEditor } = await import('../../adapters/client-config/config-file-editor.js');
  return new ClientConfigFileEditor(homeOf(opts));
};

const appsOf = (names: string[]): ClientApp[] => {
  const problems = names.map(clientProblem).filter((p): p is string => p !== undefined);
  if (problems.length > 0) throw new CliError('unsupported client', problems, EXIT.usage);
  return names.map((n) => CLIENT_APPS.find((a) => a.id === n) as ClientApp);
};

/** Turns the editor's refusals (a malformed file, a path outside home) into the CLI's one-line failures. */
const edited = async <T>(work: () => Promise<T>): Promise<T> => {
  try {
    return await work();
  } catch (e) {
    if (e instanceof Error && 'status' in e && 'details' in e) throw new CliError(e.message, (e as { details: string[] }).details);
    throw e;
  }
};

/** The server's workloads (running ones unless `all`), in the given groups (none: every group). */
const workloadsOf = async (conn: Connection, groups: string[], all: boolean): Promise<Workload[]> => {
  const url = new URL(`${conn.registry}/api/v1beta/workloads`);
  if (all) url.searchParams.set('all', 'true');
  const lists: Workload[][] = [];
  for (const group of groups.length > 0 ? groups : [undefined]) {
    const u = new URL(url);
    if (group !== undefined) u.searchParams.set('group', group);
    const res = await conn.client.send('GET', u.toString(), { headers: { accept: 'application/json' }, subject: group ? `group '${group}'` : 'workloads' });
    const body = (await res.json()) as { workloads?: Workload[] };
    if (!Array.isArray(body.workloads)) throw new CliError(`${conn.registry} did not answer a workload list (is it an Agentry that runs MCP servers?)`);
    lists.push(body.workloads);
  }
  const seen = new Set<string>();
  return lists.flat().filter((w) => !seen.has(w.name) && seen.add(w.name));
};

/**
 * The server's own MCP endpoint (`/mcp`), checked with a `ping` as the caller: a server without one,
 * or one that refuses the caller, fails here, before any settings file is edited.
 */
const selfEndpointOf = async (conn: Connection): Promise<string> => {
  const url = `${conn.registry}/mcp`;
  const ping = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });
  let res: Response;
  try {
    res = await conn.client.send('POST', url, { headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: ping });
  } catch (e) {
    if (e instanceof CliError && e.exitCode === EXIT.notFound) throw new CliError(`${conn.registry} serves no MCP endpoint at /mcp (is it an Agentry of this version?)`, [], EXIT.notFound);
    throw e;
  }
  const body = (await res.json().catch(() => undefined)) as { jsonrpc?: unknown; result?: unknown } | undefined;
  if (body?.jsonrpc !== '2.0' || body.result === undefined) throw new CliError(`${conn.registry} did not answer an MCP ping at /mcp (is it an Agentry of this version?)`);
  return url;
};

const endpointOf = (conn: Connection, w: Workload): { url: string; transport: 'sse' | 'streamable-http' } => {
  if (!w.url) throw new CliError(`workload '${w.name}' has no URL yet (status ${w.status ?? 'unknown'})`);
  const url = new URL(w.url, `${conn.registry}/`).toString();
  return { url, transport: w.proxy_mode === 'sse' || w.transport_type === 'sse' ? 'sse' : 'streamable-http' };
};

/**
 * `register --self`: the server's own `/mcp` as one entry in each client, as the entries of its
 * workloads are written: the URL only, never a token (the client reads what anonymous callers may,
 * until its user adds a header). Writing it again changes nothing.
 */
const registerSelf = async (apps: ClientApp[], editor: ClientConfigFileEditor, conn: Connection, opts: ClientOptions): Promise<void> => {
  const url = await selfEndpointOf(conn);
  const written: { client: string; settings_file: string; servers: string[] }[] = [];
  for (const app of apps) {
    await edited(() => editor.upsert(targetOf(app), SELF_ENTRY, serverEntry(app, SELF_ENTRY, url, 'streamable-http')));
    written.push({ client: app.id, settings_file: shown(app), servers: [SELF_ENTRY] });
  }
  printResult(opts.json === true, { registry: conn.registry, endpoint: url, clients: written }, () => [
    ...written.map((c) => `${c.client}: ${SELF_ENTRY} (${url}) → ${c.settings_file}`),
    `The entries hold no token: to act as you, add the header 'Authorization: Bearer <token>' to the '${SELF_ENTRY}' entry in the client.`,
  ]);
};

const unregisterSelf = async (apps: ClientApp[], editor: ClientConfigFileEditor, conn: Connection, opts: ClientOptions): Promise<void> => {
  const removed: { client: string; servers: string[] }[] = [];
  for (const app of apps) removed.push({ client: app.id, servers: (await edited(() => editor.remove(targetOf(app), SELF_ENTRY))) ? [SELF_ENTRY] : [] });
  printResult(opts.json === true, { registry: conn.registry, clients: removed }, () => removed.map((c) => `${c.client}: ${c.servers.length > 0 ? `removed ${SELF_ENTRY}` : 'nothing to remove'}`));
};

/** `agentry mcp client ls|register|unregister`: wires a server's running MCP servers into this machine's MCP clients. */
export const registerMcpClientCommands = (mcp: Command): void => {
  const client = mcp
    .command('client')
    .description("Write an Agentry's running MCP servers into the MCP clients of this machine (Claude Code, Cursor, VS Code, Cline, Windsurf, Gemini CLI, Zed, Continue, Goose, Codex, …)")
    .addHelpText(
      'after',
      `\nClients: ${CLIENT_APPS.map((a) => a.id).join(', ')}.\n` +
        'Each edit locks the settings file, keeps its comments (JSONC, YAML; TOML is rewritten valid), writes atomically,\n' +
        'backs the file up once (<file>.agentry-backup) and refuses a malformed file without touching it.',
    );
  const homeOption = (c: Command) => c.option('--home <dir>', 'the home directory whose settings files are edited (default: AGENTRY_CLIENTS_HOME, else yours)');

  withJsonOption(homeOption(client.command('ls').description('List the MCP clients Agentry knows: installed here, and the MCP servers their settings file holds'))).action(
    async (opts: ClientOptions) => {
      const editor = await editorFor(opts);
      const rows: { client: string; installed: boolean; settings_file: string; servers: string[]; problem?: string }[] = [];
      for (const app of CLIENT_APPS) {
        let servers: string[] = [];
        let problem: string | undefined;
        try {
          servers = Object.keys(await edited(() => editor.entries(targetOf(app))));
        } catch (e) {
          problem = e instanceof Error ? e.message : String(e);
        }
        rows.push({ client: app.id, installed: await editor.exists(installMarkerOf(app, platform())), settings_file: shown(app), servers, ...(problem ? { problem } : {}) });
      }
      printResult(opts.json === true, { clients: rows }, () =>
        renderTable(
          ['CLIENT', 'INSTALLED', 'SERVERS', 'SETTINGS FILE'],
          rows.map((r) => [r.client, r.installed ? 'yes' : 'no', r.problem ? 'malformed: left untouched' : r.servers.join(', ') || '-', r.settings_file]),
        ),
      );
    },
  );

  /** register and unregister: the same arguments, and the same checks before the server is asked anything. */
  const editCommand = (name: string, description: string, run: (apps: ClientApp[], editor: ClientConfigFileEditor, conn: Connection, opts: ClientOptions) => Promise<void>) =>
    withJsonOption(
      withRegistryOptions(
        homeOption(
          client
            .command(name)
            .description(description)
            .argument('<client...>', 'client names (see `agentry mcp client --help`)')
            .option('--group <name...>', 'only the servers of these groups')
            .option('--self', `the Agentry server's own MCP endpoint (/mcp, entry '${SELF_ENTRY}') instead of its running MCP servers`),
        ),
      ),
    ).action(async (names: string[], opts: ClientOptions) => {
      const apps = appsOf(names);
      if (opts.self && opts.group) throw new CliError("--self and --group do not go together: the server's own endpoint belongs to no group", [], EXIT.usage);
      const editor = await editorFor(opts);
      // Refuse a malformed settings file before asking the server anything.
      for (const app of apps) await edited(() => editor.entries(targetOf(app)));
      await run(apps, editor, await connect(opts), opts);
    });

  editCommand(
    'register',
    "Write the server's running MCP servers (of the given groups, or all), or with --self its own MCP endpoint, into each client's settings file",
    async (apps, editor, conn, opts) => {
      if (opts.self) return registerSelf(apps, editor, conn, opts);
      const workloads = (await workloadsOf(conn, opts.group ?? [], false)).filter((w) => (w.status ?? 'running') === 'running');
      for (const w of workloads) {
        const problem = serverNameProblem(w.name);
        if (problem) throw new CliError(`refusing workload name from ${conn.registry}`, [problem]);
      }
      const written: { client: string; settings_file: string; servers: string[] }[] = [];
      for (const app of apps) {
        for (const w of workloads) {
          const { url, transport } = endpointOf(conn, w);
          await edited(() => editor.upsert(targetOf(app), w.name, serverEntry(app, w.name, url, transport)));
        }
        written.push({ client: app.id, settings_file: shown(app), servers: workloads.map((w) => w.name) });
      }
      printResult(opts.json === true, { registry: conn.registry, clients: written }, () =>
        workloads.length === 0
          ? [`${conn.registry} runs no MCP server${opts.group ? ` in ${opts.group.join(', ')}` : ''}: nothing written`]
          : written.map((c) => `${c.client}: ${c.servers.join(', ')} → ${c.settings_file}`),
      );
    },
  );

  editCommand(
    'unregister',
    "Remove the server's MCP servers (of the given groups, or all), or with --self its own MCP endpoint, from each client's settings file",
    async (apps, editor, conn, opts) => {
      if (opts.self) return unregisterSelf(apps, editor, conn, opts);
      const workloads = await workloadsOf(conn, opts.group ?? [], true);
      const removed: { client: string; servers: string[] }[] = [];
      for (const app of apps) {
        const gone: string[] = [];
        for (const w of workloads) if (await edited(() => editor.remove(targetOf(app), w.name))) gone.push(w.name);
        removed.push({ client: app.id, servers: gone });
      }
      printResult(opts.json === true, { registry: conn.registry, clients: removed }, () =>
        removed.map((c) => `${c.client}: ${c.servers.length > 0 ? `removed ${c.servers.join(', ')}` : 'nothing to remove'}`),
      );
    },
  );
};
