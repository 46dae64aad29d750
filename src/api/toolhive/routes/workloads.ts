import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { notImplemented } from '../../../core/errors.js';
import { parseSecretFlag } from '../../../core/workloads/workload-config.js';
import type { WorkloadService } from '../../../core/workloads/workload-service.js';
import { baseUrl } from '../../shared/base-url.js';
import { requestContext } from '../../shared/request-context.js';
import type { ToolhiveDoorOptions } from '../index.js';
import { textErrors } from '../schemas.js';
import {
  BulkRequest,
  CreateRequest,
  CreateWorkloadResponse,
  ListQuery,
  RunConfig,
  UpdateRequest,
  UpgradeCheckBulkResponse,
  UpgradeCheckResponse,
  UpgradeRequest,
  WorkloadList,
  WorkloadParams,
  WorkloadStatusResponse,
} from '../workload-schemas.js';
import { checkView, detailView, inputOf, runConfigView, workloadView } from '../workload-views.js';

const Accepted = { 202: { type: 'null', description: 'Accepted (an empty body, as ToolHive answers)' } } as const;
const TextBody = { type: 'string' } as const;

/** ToolHive's workloads API (`/api/v1beta/workloads…`): MCP servers this server runs, sandboxed, behind its proxy. */
export const workloadRoutes: FastifyPluginAsyncTypebox<ToolhiveDoorOptions> = async (app, { registry, publicUrl }) => {
  const tags = ['toolhive'];
  const service = (): WorkloadService => {
    if (!registry.workloads) throw notImplemented('This server does not run MCP workloads');
    return registry.workloads;
  };
  const ctxOf = (req: FastifyRequest) => requestContext(registry, req);
  const base = (req: FastifyRequest) => baseUrl(req, publicUrl);

  app.get('/workloads', {
    schema: { tags, summary: 'List workloads (running ones; all=true adds stopped ones), optionally of one group', querystring: ListQuery, response: { 200: WorkloadList, ...textErrors } },
    handler: async (req) => ({ workloads: (await service().list(await ctxOf(req), { all: req.query.all, group: req.query.group })).map((r) => workloadView(r, base(req))) }),
  });

  app.post('/workloads', {
    schema: {
      tags,
      summary: 'Create a workload: an MCP server of the registry (server), or for administrators an image (npx://, uvx://, OCI), a command or a URL',
      body: CreateRequest,
      response: { 201: CreateWorkloadResponse, ...textErrors, 409: textErrors[400], 503: textErrors[400] },
    },
    handler: async (req, reply) => {
      const r = await service().create(await ctxOf(req), inputOf(req.body));
      const u = new URL(base(req));
      return reply.status(201).send({ name: r.name, port: u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80 });
    },
  });

  for (const op of ['stop', 'restart', 'delete'] as const) {
    app.post(`/workloads/${op}`, {
      schema: { tags, summary: `${op[0].toUpperCase()}${op.slice(1)} workloads in bulk, by names or by group`, body: BulkRequest, response: { ...Accepted, ...textErrors } },
      handler: async (req, reply) => {
        await service().bulk(await ctxOf(req), op, req.body);
        return reply
          .status(202)
          .serializer(() => '')
          .send(null);
      },
    });
  }

  app.get('/workloads/upgrade-check', {
    schema: { tags, summary: 'Check workloads for upgrades available in the registry', querystring: ListQuery, response: { 200: UpgradeCheckBulkResponse, ...textErrors } },
    handler: async (req) => ({ results: (await service().upgradeCheckAll(await ctxOf(req), { all: req.query.all, group: req.query.group })).map(checkView) }),
  });

  app.get('/workloads/:name', {
    schema: { tags, summary: "Get a workload's configuration (ToolHive's createRequest shape)", params: WorkloadParams, response: { 200: CreateRequest, ...textErrors } },
    handler: async (req) => detailView(await service().get(await ctxOf(req), req.params.name), base(req)),
  });

  app.get('/workloads/:name/status', {
    schema: { tags, summary: "Get a workload's status", params: WorkloadParams, response: { 200: WorkloadStatusResponse, ...textErrors } },
    handler: async (req) => ({ status: (await service().get(await ctxOf(req), req.params.name)).status }),
  });

  app.delete('/workloads/:name', {
    schema: { tags, summary: 'Delete a workload (its process is stopped, its logs removed)', params: WorkloadParams, response: { ...Accepted, ...textErrors } },
    handler: async (req, reply) => {
      await service().remove(await ctxOf(req), req.params.name);
      return reply
        .status(202)
        .serializer(() => '')
        .send(null);
    },
  });

  app.post('/workloads/:name/edit', {
    schema: { tags, summary: "Update a workload's configuration and restart it", params: WorkloadParams, body: UpdateRequest, response: { 200: CreateWorkloadResponse, ...textErrors } },
    handler: async (req) => {
      const r = await service().edit(await ctxOf(req), req.params.name, inputOf(req.body));
      const u = new URL(base(req));
      return { name: r.name, port: u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80 };
    },
  });

  for (const op of ['stop', 'restart'] as const) {
    app.post(`/workloads/:name/${op}`, {
      schema: { tags, summary: `${op === 'stop' ? 'Stop' : 'Restart'} a workload`, params: WorkloadParams, response: { ...Accepted, ...textErrors } },
      handler: async (req, reply) => {
        const s = service();
        const ctx = await ctxOf(req);
        if (op === 'stop') await s.stop(ctx, req.params.name);
        else await s.restart(ctx, req.params.name);
        return reply
          .status(202)
          .serializer(() => '')
          .send(null);
      },
    });
  }

  app.get('/workloads/:name/export', {
    schema: { tags, summary: "Export a workload's RunConfig (secrets as references only)", params: WorkloadParams, response: { 200: RunConfig, ...textErrors } },
    handler: async (req) => runConfigView(await service().get(await ctxOf(req), req.params.name), base(req)),
  });

  app.get('/workloads/:name/logs', {
    schema: { tags, summary: "The server's output (stderr, and stdout that is not MCP), newest last, at most 1 MiB", params: WorkloadParams, response: { 200: TextBody, ...textErrors } },
    handler: async (req, reply) => reply.type('text/plain; charset=utf-8').send(await service().logs(await ctxOf(req), req.params.name)),
  });

  app.get('/workloads/:name/proxy-logs', {
    schema: {
      tags,
      summary: "The proxy's log of a workload: lifecycle and tool calls (tool, caller, duration, outcome; never arguments)",
      params: WorkloadParams,
      response: { 200: TextBody, ...textErrors },
    },
    handler: async (req, reply) => reply.type('text/plain; charset=utf-8').send(await service().proxyLogs(await ctxOf(req), req.params.name)),
  });

  app.get('/workloads/:name/upgrade-check', {
    schema: {
      tags,
      summary: "Compare a registry-sourced workload's version with the registry's latest, with env-var and permission drift",
      params: WorkloadParams,
      response: { 200: UpgradeCheckResponse, ...textErrors },
    },
    handler: async (req) => ({ result: checkView(await service().upgradeCheck(await ctxOf(req), req.params.name)) }),
  });

  app.post('/workloads/:name/upgrade', {
    schema: {
      tags,
      summary: "Upgrade a registry-sourced workload to the registry's latest version; rolled back when the new version fails its health check (422 saying so, as when there is nothing to upgrade to)",
      params: WorkloadParams,
      body: { anyOf: [UpgradeRequest, { type: 'null' }] },
      response: { 200: UpgradeCheckResponse, ...textErrors, 422: textErrors[400], 500: textErrors[400] },
    },
    handler: async (req) => {
      const body = (req.body ?? {}) as { env?: Record<string, string>; secrets?: string[] };
      const result = await service().upgrade(await ctxOf(req), req.params.name, { env: body.env, secrets: (body.secrets ?? []).map(parseSecretFlag) });
      return { result: checkView(result) };
    },
  });
};
