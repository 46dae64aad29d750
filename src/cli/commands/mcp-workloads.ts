import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { connect, requireToken, type Connection } from '../connection.js';
import { exitCodeForStatus, EXIT } from '../exit-codes.js';
import { withJsonOption, withRegistryOptions, type JsonOption, type RegistryOptions } from '../global-options.js';
import { printResult, renderTable, writeLine } from '../output.js';

/** One workload, as ToolHive's `GET /api/v1beta/workloads` lists it (core.Workload). */
interface Workload {
  name: string;
  package: string;
  url: string;
  status: string;
  status_context: string;
  transport_type: string;
  proxy_mode: string;
  group: string;
  started_at: string;
}

type Options = RegistryOptions & JsonOption;

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** A request to ToolHive's API on the registry; its plain-text errors become one clear CliError. */
const thv = async (conn: Connection, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<{ status: number; text: string }> => {
  const res = await conn.client.send(
    method,
    `/api/v1beta${path}`,
    { headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) },
    true,
  );
  const text = await res.text();
  if (!res.ok) {
    const message = text.trim().split('\n')[0] || `the registry answered ${res.status}`;
    throw new CliError(res.status === 401 ? `${message} (run 'agentry login' or pass --token)` : message, [], exitCodeForStatus(res.status));
  }
  return { status: res.status, text };
};

const parse = <T>(text: string): T => {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new CliError('the registry answered something that is not JSON');
  }
};

const envPairs = (pairs: string[]): Record<string, string> => {
  const env: Record<string, string> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new CliError(`--env '${p}' is not NAME=value`, [], EXIT.usage);
    env[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return env;
};

const secretRefs = (flags: string[]) =>
  flags.map((f) => {
    const m = /^([^,]+),target=([^,]+)$/.exec(f);
    if (!m) throw new CliError(`--secret '${f}' is not <name>,target=<ENV_VAR>`, [], EXIT.usage);
    return { name: m[1], target: m[2] };
  });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `agentry mcp run|ls|stop|logs`: MCP servers an Agentry runs (ToolHive's workloads), over HTTP. */
export const registerMcpWorkloadCommands = (mcp: Command): void => {
  withJsonOption(
    withRegistryOptions(
      mcp
        .command('run')
        .description('Run an MCP server of the registry on the Agentry server, sandboxed, behind its proxy; prints the URL clients use')
        .argument('<server>', "the MCP server's name in the registry, scope/name")
        .option('--name <name>', 'the workload name (default: the server name after the /)')
        .option('--env <NAME=value>', 'an environment variable for the server (repeatable)', collect, [])
        .option('--secret <name,target=ENV>', 'an environment variable from your secrets on the server (repeatable)', collect, [])
        .option('--group <group>', 'the group to put it in (default: default)')
        .option('--visibility <visibility>', 'who may use it: private (default), internal or public')
        .option('--proxy-mode <mode>', 'streamable-http (default) or sse')
        .option('--no-wait', 'return at once instead of waiting until it runs'),
    ),
  ).action(async (server: string, opts: Options & { name?: string; env: string[]; secret: string[]; group?: string; visibility?: string; proxyMode?: string; wait: boolean }) => {
    const conn = await connect(opts);
    requireToken(conn);
    const body = {
      server,
      registry: 'default',
      ...(opts.name ? { name: opts.name } : {}),
      env_vars: envPairs(opts.env),
      secrets: secretRefs(opts.secret),
      ...(opts.group ? { group: opts.group } : {}),
      ...(opts.visibility ? { visibility: opts.visibility } : {}),
      ...(opts.proxyMode ? { proxy_mode: opts.proxyMode } : {}),
    };
    const created = parse<{ name: string; port: number }>((await thv(conn, 'POST', '/workloads', body)).text);
    let w: Workload | undefined;
    const deadline = Date.now() + 300_000;
    for (;;) {
      w = parse<{ workloads: Workload[] }>((await thv(conn, 'GET', `/workloads?all=true`)).text).workloads.find((x) => x.name === created.name);
      if (!opts.wait || !w || ['running', 'error', 'unhealthy'].includes(w.status) || Date.now() > deadline) break;
      await sleep(500);
    }
    if (opts.wait && w && w.status !== 'running') {
      throw new CliError(`${created.name} is ${w.status}: ${w.status_context || 'see agentry mcp logs ' + created.name}`);
    }
    printResult(opts.json === true, w ?? created, () => [`${created.name}: ${w?.status ?? 'starting'}`, `url: ${w?.url ?? ''}`]);
  });

  withJsonOption(
    withRegistryOptions(
      mcp.command('ls').description('List the MCP servers the Agentry server runs that you may see').option('-a, --all', 'include stopped ones').option('--group <group>', 'only this group'),
    ),
  ).action(async (opts: Options & { all?: boolean; group?: string }) => {
    const conn = await connect(opts);
    const q = new URLSearchParams();
    if (opts.all) q.set('all', 'true');
    if (opts.group) q.set('group', opts.group);
    const r = parse<{ workloads: Workload[] }>((await thv(conn, 'GET', `/workloads${q.size > 0 ? `?${q}` : ''}`)).text);
    printResult(opts.json === true, r, () =>
      r.workloads.length === 0
        ? '(no workloads)'
        : renderTable(
            ['NAME', 'PACKAGE', 'STATUS', 'URL', 'GROUP'],
            r.workloads.map((w) => [w.name, w.package, w.status_context ? `${w.status} (${w.status_context.slice(0, 60)})` : w.status, w.url, w.group]),
          ),
    );
  });

  withJsonOption(withRegistryOptions(mcp.command('stop').description('Stop a workload (it stays listed with --all; restart it with the API)').argument('<name>', 'the workload name'))).action(
    async (name: string, opts: Options) => {
      const conn = await connect(opts);
      requireToken(conn);
      await thv(conn, 'POST', `/workloads/${encodeURIComponent(name)}/stop`);
      printResult(opts.json === true, { name, stopping: true }, () => `${name}: stopping`);
    },
  );

  withRegistryOptions(
    mcp
      .command('logs')
      .description("Print a workload's logs: the server's own output, or with --proxy the proxy's (lifecycle and tool calls)")
      .argument('<name>', 'the workload name')
      .option('--proxy', "the proxy's log instead of the server's"),
  ).action(async (name: string, opts: RegistryOptions & { proxy?: boolean }) => {
    const conn = await connect(opts);
    requireToken(conn);
    const r = await thv(conn, 'GET', `/workloads/${encodeURIComponent(name)}/${opts.proxy ? 'proxy-logs' : 'logs'}`);
    process.stdout.write(r.text.endsWith('\n') || r.text === '' ? r.text : `${r.text}\n`);
    if (r.text === '') writeLine('(no log lines yet)');
  });
};
