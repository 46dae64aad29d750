#!/usr/bin/env node
/**
 * MCP workload bench (issue 15): proxy overhead per tool call against calling the stdio server
 * directly (the anchor, same machine, same run), calls/s through the proxy, memory per idle
 * workload, and time from create to running for an explicit (already installed) server.
 *
 *   npm run build && node bench/workloads.mjs --calls 500 --idle 3
 *
 * The server runs in this process (dist/), on a temp SQLite data dir; workloads run under bubblewrap.
 * The workload is the reference everything server (a dev dependency), its `echo` tool. A second
 * anchor is the SDK's own Streamable HTTP server and client with an in-memory handler (the floor any
 * SDK-based bridge pays). The CPU column is this process's CPU per sequential call: the bench's
 * client runs here too, so it includes the client's side of each transport.
 */
import { mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { resolveConfig } from '../dist/app/config.js';
import { startServer } from '../dist/app/server.js';

const { values } = parseArgs({ options: { calls: { type: 'string', default: '500' }, idle: { type: 'string', default: '3' }, concurrency: { type: 'string', default: '8' } } });
const CALLS = Number(values.calls);
const IDLE = Number(values.idle);
const CONCURRENCY = Number(values.concurrency);

const require = createRequire(import.meta.url);
const EVERYTHING = realpathSync(require.resolve('@modelcontextprotocol/server-everything/dist/index.js'));
const NODE_MODULES = realpathSync(join(EVERYTHING, '../../../..'));

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const ms = (n) => `${n.toFixed(2)} ms`;

const timeCalls = async (client) => {
  for (let i = 0; i < 20; i++) await client.callTool({ name: 'echo', arguments: { message: 'warm' } });
  const lat = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < CALLS; i++) {
    const t = performance.now();
    await client.callTool({ name: 'echo', arguments: { message: `m${i}` } });
    lat.push(performance.now() - t);
  }
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000 / CALLS;
  const start = performance.now();
  let done = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (done < CALLS) {
        done++;
        await client.callTool({ name: 'echo', arguments: { message: 'x' } });
      }
    }),
  );
  return { p50: pct(lat, 50), p99: pct(lat, 99), perSecond: (CALLS / (performance.now() - start)) * 1000, cpuMs };
};

/** RSS of a process and all its descendants, from /proc. */
const treeRss = (pid) => {
  const children = new Map();
  for (const d of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const ppid = Number(readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {
      // the process ended while the table was read
    }
  }
  let total = 0;
  const walk = (p) => {
    try {
      total += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    } catch {
      // the process ended meanwhile: it holds no memory
    }
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(pid);
  return total;
};

const dataDir = mkdtempSync(join(tmpdir(), 'agentry-bench-wl-'));
const adminToken = `agentry_${randomBytes(32).toString('base64url')}`;
const server = await startServer({ ...resolveConfig({ host: '127.0.0.1', port: 0, dataDir, adminToken, logLevel: 'silent' }, {}), workloadTimings: { healthIntervalMs: 600_000 } });
const api = async (method, path, body) => {
  const r = await fetch(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: body && JSON.stringify(body) });
  return { status: r.status, text: await r.text() };
};
const spec = (name) => ({ name, command: process.execPath, cmd_arguments: [EVERYTHING, 'stdio'], permission_profile: { read: [NODE_MODULES] } });
const waitRunning = async (name) => {
  for (;;) {
    const r = JSON.parse((await api('GET', `/api/v1beta/workloads/${name}/status`)).text);
    if (r.status === 'running') return;
    if (r.status === 'error' || r.status === 'unhealthy') throw new Error(`${name} ${r.status}`);
    await new Promise((res) => setTimeout(res, 20));
  }
};

try {
  // Anchor: the stdio server called directly (no sandbox, no proxy).
  const direct = new Client({ name: 'bench', version: '1' });
  await direct.connect(new StdioClientTransport({ command: process.execPath, args: [EVERYTHING, 'stdio'], stderr: 'ignore' }));
  const anchor = await timeCalls(direct);
  await direct.close();

  // Second anchor: the SDK's own Streamable HTTP transport pair, no Agentry, an in-memory echo
  // handler (what any stdio-to-HTTP bridge built on the SDK pays before doing anything).
  const sdkSessions = new Map();
  const bare = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : undefined;
    let t = sdkSessions.get(req.headers['mcp-session-id']);
    if (!t) {
      const s = new Server({ name: 'bare', version: '1' }, { capabilities: { tools: {} } });
      s.fallbackRequestHandler = async (r) => ({ content: [{ type: 'text', text: String(r.params?.arguments?.message) }] });
      t = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID(), onsessioninitialized: (id) => sdkSessions.set(id, t) });
      await s.connect(t);
    }
    await t.handleRequest(req, res, body);
  });
  await new Promise((r) => bare.listen(0, '127.0.0.1', r));
  const sdkClient = new Client({ name: 'bench', version: '1' });
  await sdkClient.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${bare.address().port}/mcp`)));
  const sdkOnly = await timeCalls(sdkClient);
  await sdkClient.close();
  bare.close();

  // Create → running.
  const t0 = performance.now();
  const created = await api('POST', '/api/v1beta/workloads', spec('bench'));
  if (created.status !== 201) throw new Error(created.text);
  await waitRunning('bench');
  const createToRunning = performance.now() - t0;

  const proxied = new Client({ name: 'bench', version: '1' });
  await proxied.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/workloads/bench/mcp`), { requestInit: { headers: { authorization: `Bearer ${adminToken}` } } }));
  const viaProxy = await timeCalls(proxied);
  await proxied.close();

  // Memory per idle workload: the RSS of each sandbox's process tree once running.
  const rss = [];
  for (let i = 0; i < IDLE; i++) {
    await api('POST', '/api/v1beta/workloads', spec(`idle${i}`));
    await waitRunning(`idle${i}`);
  }
  await new Promise((r) => setTimeout(r, 2000));
  for (let i = 0; i < IDLE; i++) {
    const logs = (await api('GET', `/api/v1beta/workloads/idle${i}/logs`)).text;
    const pid = Number(/running \(pid (\d+)\)/.exec(logs)?.[1]);
    rss.push(treeRss(pid));
  }
  const mib = (b) => `${(b / 1024 / 1024).toFixed(1)} MiB`;
  console.log(`calls: ${CALLS} sequential (latency), ${CALLS} with ${CONCURRENCY} in flight (throughput); echo tool of server-everything`);
  console.log(`| | p50 | p99 | calls/s | CPU of this process per call |`);
  console.log(`|---|---|---|---|---|`);
  console.log(`| direct stdio (anchor) | ${ms(anchor.p50)} | ${ms(anchor.p99)} | ${anchor.perSecond.toFixed(0)} | ${ms(anchor.cpuMs)} |`);
  console.log(`| SDK Streamable HTTP pair alone, in-memory handler (second anchor) | ${ms(sdkOnly.p50)} | ${ms(sdkOnly.p99)} | ${sdkOnly.perSecond.toFixed(0)} | ${ms(sdkOnly.cpuMs)} |`);
  console.log(`| through Agentry's proxy (Streamable HTTP, bubblewrap) | ${ms(viaProxy.p50)} | ${ms(viaProxy.p99)} | ${viaProxy.perSecond.toFixed(0)} | ${ms(viaProxy.cpuMs)} |`);
  console.log(`proxy overhead per call: p50 +${ms(viaProxy.p50 - anchor.p50)}, p99 +${ms(viaProxy.p99 - anchor.p99)}`);
  console.log(`create → running (explicit command, nothing to install): ${ms(createToRunning)}`);
  console.log(`memory per idle workload (sandbox process tree RSS): ${rss.map(mib).join(', ')}`);
} finally {
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
}
