import type { RequestContext } from '../auth/principal.js';
import type { CoreDeps } from '../core-deps.js';
import { AgentryError } from '../errors.js';
import { isPlainObject } from '../packages/manifest/fields.js';
import type { McpNotification, McpRequestOptions, McpResult, McpUpstream, WorkloadLogs } from './workload-runtime.js';
import type { WorkloadRecord } from './workload.js';

/** A client's view of one workload through the proxy: the server's identity and a request gate. */
export interface WorkloadSession {
  readonly capabilities: Record<string, unknown>;
  readonly serverInfo: { name: string; version: string };
  readonly instructions: string | undefined;
  /** Passes a client's request on (cancelled when `options.signal` aborts; progress to `options.onProgress`). */
  request(method: string, params: Record<string, unknown> | undefined, options?: McpRequestOptions): Promise<McpResult>;
  /**
   * Receives the server's notifications that concern every client (list changes, log messages,
   * resource updates), from whichever process runs the workload now; returns the unsubscribe.
   */
  subscribe(listener: (notification: McpNotification) => void): () => void;
}

/** A JSON-RPC error for the proxy's client (its `code` goes on the wire). */
export class McpRequestError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** Methods the proxy passes to the server besides tools (initialize is answered by the proxy itself). */
const PASSED_METHODS = new Set([
  'ping',
  'resources/list',
  'resources/read',
  'resources/templates/list',
  'resources/subscribe',
  'resources/unsubscribe',
  'prompts/list',
  'prompts/get',
  'completion/complete',
  'logging/setLevel',
]);

/** Server notifications passed on to every session of the workload (progress goes to the request that asked for it). */
const BROADCAST_NOTIFICATIONS = new Set([
  'notifications/tools/list_changed',
  'notifications/resources/list_changed',
  'notifications/prompts/list_changed',
  'notifications/resources/updated',
  'notifications/message',
]);

/** What the proxy needs of the workload service: the process running a workload now, and its proxy log. */
export interface WorkloadProxyDeps {
  /** The connection to the process that runs the workload now; undefined when none does. */
  connection(name: string): McpUpstream | undefined;
  logs: WorkloadLogs;
  /** A line of the proxy log (its time, the event, the fields). */
  line(event: string, fields: Record<string, unknown>): string;
  /** How long a proxied request may take (default 5 min). */
  requestTimeoutMs?: number;
}

/**
 * The proxy's side of workloads: client sessions on a workload (tool filters and renames, tool-call
 * logs and audit, the methods passed on) and the server notifications passed to every session.
 */
export class WorkloadProxy {
  /** The proxy's sessions listening to each workload's notifications. */
  private readonly listeners = new Map<string, Set<(notification: McpNotification) => void>>();

  constructor(
    private readonly core: CoreDeps,
    private readonly deps: WorkloadProxyDeps,
  ) {}

  /** A server notification of workload `name`: those that concern every client go to each of its sessions. */
  notify(name: string, n: McpNotification): void {
    if (!BROADCAST_NOTIFICATIONS.has(n.method)) return;
    for (const listener of this.listeners.get(name) ?? []) listener(n);
  }

  /** Opens a client's session on workload `name` (its record `r`), which the caller may read; requests go to whatever process currently runs it. */
  open(ctx: RequestContext, name: string, r: WorkloadRecord): WorkloadSession {
    const up = this.deps.connection(name);
    if (!up) throw new AgentryError('unavailable', `Workload '${name}' is not running (status: ${r.status}${r.statusContext ? `, ${r.statusContext}` : ''})`);
    const caller = ctx.principal?.account.name ?? 'anonymous';
    const config = r.config;
    const overrides = config.toolsOverride;
    const renamed = new Map(Object.entries(overrides).flatMap(([orig, o]) => (o.name ? [[o.name, orig] as const] : [])));
    const offered = (orig: string) => config.tools.length === 0 || config.tools.includes(orig);
    const connection = (): McpUpstream => {
      const c = this.deps.connection(name);
      if (!c) throw new McpRequestError(-32603, `Workload '${name}' is not running`);
      return c;
    };
    const timeout = this.deps.requestTimeoutMs ?? 300_000;
    return {
      capabilities: up.capabilities,
      serverInfo: up.serverInfo,
      instructions: up.instructions,
      subscribe: (listener) => {
        let set = this.listeners.get(name);
        if (!set) this.listeners.set(name, (set = new Set()));
        set.add(listener);
        return () => {
          set.delete(listener);
          if (set.size === 0 && this.listeners.get(name) === set) this.listeners.delete(name);
        };
      },
      request: async (method, params, options) => {
        if (method === 'tools/list') {
          const result = await connection().request(method, params, timeout, options);
          const tools = Array.isArray(result.tools) ? result.tools.filter(isPlainObject) : [];
          return {
            ...result,
            tools: tools
              .filter((t) => typeof t.name === 'string' && offered(t.name) && !(renamed.has(t.name) && overrides[t.name]?.name !== t.name && !overrides[t.name]))
              .map((t) => {
                const o = overrides[t.name as string];
                return o ? { ...t, ...(o.name ? { name: o.name } : {}), ...(o.description ? { description: o.description } : {}) } : t;
              }),
          };
        }
        if (method === 'tools/call') {
          const asked = typeof params?.name === 'string' ? params.name : '';
          const orig = renamed.get(asked) ?? (overrides[asked]?.name && overrides[asked].name !== asked ? undefined : asked);
          if (orig === undefined || !offered(orig)) throw new McpRequestError(-32602, `Unknown tool: ${asked.slice(0, 200)}`);
          const started = Date.now();
          let outcome = 'ok';
          try {
            const result = await connection().request(method, { ...params, name: orig }, timeout, options);
            if (result.isError === true) outcome = 'tool_error';
            return result;
          } catch (e) {
            outcome = 'error';
            throw e;
          } finally {
            const duration = Date.now() - started;
            this.deps.logs.append(name, 'proxy', this.deps.line('tool call', { tool: orig, caller, duration_ms: duration, outcome }));
            this.core.audit.recordLater(this.core.storage.audit, ctx, 'workload.tool_call', `workload:${name}`, { tool: orig, duration_ms: duration, outcome });
          }
        }
        if (!PASSED_METHODS.has(method)) throw new McpRequestError(-32601, `Method not found: ${method.slice(0, 100)}`);
        return connection().request(method, params, timeout, options);
      },
    };
  }
}
