import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { RunStats } from '../../../core/telemetry/telemetry-service.js';
import { fullName } from '../../../core/packages/names.js';
import { requestContext } from '../../shared/request-context.js';
import { strictValidatorCompiler } from '../../shared/strict-validator.js';
import {
  CategoriesQuery,
  CategoriesResponse,
  StarResponse,
  TELEMETRY_BODY_LIMIT,
  TelemetryBody,
  TelemetryQuery,
  TelemetryStatsResponse,
  TrendingQuery,
  TrendingResponse,
  UserListQuery,
} from '../agentx-schemas.js';
import type { NativeDoorOptions } from '../index.js';
import { PackageParams, errorResponses, listResponse } from '../schemas.js';
import { listItem, listTotal } from '../views.js';
import { KIND_ROUTES } from './packages.js';
import { Type } from 'typebox';

const UserParams = Type.Object({ username: Type.String({ minLength: 1, maxLength: 40 }) });

const runStats = (s: RunStats) => ({
  runs: s.runs,
  successes: s.successes,
  failures: s.failures,
  success_rate: s.successRate,
  p50_duration_ms: s.p50DurationMs,
  p95_duration_ms: s.p95DurationMs,
});

/** agentx's trending, categories, users' agents, stars and telemetry (seed 004). */
export const agentxRoutes: FastifyPluginAsyncTypebox<NativeDoorOptions> = async (app, { registry }) => {
  app.get('/trending', {
    schema: {
      tags: ['agents'],
      summary: 'Packages most downloaded inside a period (day: today; week: 7 days; month: 30 days; UTC)',
      querystring: TrendingQuery,
      response: { 200: TrendingResponse, ...errorResponses },
    },
    handler: async (req) => {
      const page = req.query.page ?? 1;
      const limit = req.query.limit ?? 20;
      const period = req.query.period ?? 'week';
      const r = await registry.discovery.trending(await requestContext(registry, req), { period, kind: req.query.kind ?? 'agent', category: req.query.category, offset: (page - 1) * limit, limit });
      return {
        agents: r.rows.map((row) => ({ ...listItem(row.pkg, r.owners.get(row.pkg.ownerAccountId)), period_downloads: row.downloads })),
        total: r.total,
        page,
        limit,
        period,
        since: r.sinceDay,
      };
    },
  });

  app.get('/categories', {
    schema: { tags: ['agents'], summary: 'Every valid category, with how many published agents (or `kind`) are in it', querystring: CategoriesQuery, response: { 200: CategoriesResponse } },
    handler: async (req) => ({ categories: await registry.discovery.categories(await requestContext(registry, req), req.query.kind ?? 'agent') }),
  });

  app.get('/users/:username/agents', {
    schema: {
      tags: ['accounts'],
      summary: "Agents published under a user's (or org's) own scope",
      params: UserParams,
      querystring: UserListQuery,
      response: { 200: listResponse('agents'), ...errorResponses },
    },
    handler: async (req) => {
      const ctx = await requestContext(registry, req);
      registry.policy.requireReadAccess(ctx);
      const account = await registry.accounts.find(req.params.username);
      const page = req.query.page ?? 1;
      const limit = req.query.limit ?? 20;
      const r = await registry.packages.query(ctx, { kind: 'agent', ownerAccountId: account.id, sort: req.query.sort ?? 'downloads', offset: (page - 1) * limit, limit });
      return { agents: r.rows.map((p) => listItem(p, r.owners.get(p.ownerAccountId), r.upstreams)), ...listTotal(r), page, limit };
    },
  });

  app.get('/users/:username/stars', {
    schema: {
      tags: ['accounts'],
      summary: 'Packages a user starred, most recent first',
      params: UserParams,
      querystring: UserListQuery,
      response: { 200: listResponse('packages'), ...errorResponses },
    },
    handler: async (req) => {
      const ctx = await requestContext(registry, req);
      registry.policy.requireReadAccess(ctx);
      const account = await registry.accounts.find(req.params.username);
      const page = req.query.page ?? 1;
      const limit = req.query.limit ?? 20;
      const r = await registry.stars.starredBy(ctx, account, (page - 1) * limit, limit);
      const owners = await registry.packages.ownersOf(r.rows);
      return { packages: r.rows.map((p) => listItem(p, owners.get(p.ownerAccountId))), total: r.total, page, limit };
    },
  });

  for (const route of KIND_ROUTES) {
    const star = `/${route.segment}/:scope/:name/star`;
    const tags = [route.tag];
    app.get(star, {
      schema: { tags, summary: 'Whether the caller starred the package, and its star count', params: PackageParams, response: { 200: StarResponse, ...errorResponses } },
      handler: async (req) => {
        const s = await registry.stars.state(await requestContext(registry, req), req.params.scope, req.params.name, route.kind);
        return { starred: s.starred, star_count: s.starCount };
      },
    });
    app.put(star, {
      schema: { tags, summary: 'Star the package (signed in; starring twice counts once)', params: PackageParams, response: { 200: StarResponse, ...errorResponses } },
      handler: async (req) => {
        const s = await registry.stars.star(await requestContext(registry, req), req.params.scope, req.params.name, route.kind);
        return { success: true, starred: s.starred, star_count: s.starCount };
      },
    });
    app.delete(star, {
      schema: { tags, summary: 'Remove your star', params: PackageParams, response: { 200: StarResponse, ...errorResponses } },
      handler: async (req) => {
        const s = await registry.stars.unstar(await requestContext(registry, req), req.params.scope, req.params.name, route.kind);
        return { success: true, starred: s.starred, star_count: s.starCount };
      },
    });
  }

  app.post('/telemetry', {
    bodyLimit: TELEMETRY_BODY_LIMIT,
    validatorCompiler: strictValidatorCompiler,
    schema: {
      tags: ['telemetry'],
      summary: 'Report one run of an agent (anonymous; counted in aggregate, never stored as an event)',
      security: [],
      body: TelemetryBody,
      response: { 200: Type.Object({ ok: Type.Boolean() }), ...errorResponses },
    },
    handler: async (req) => {
      await registry.telemetry.record(await requestContext(registry, req), {
        agentName: req.body.agent_name,
        agentVersion: req.body.agent_version,
        success: req.body.success,
        durationMs: req.body.duration_ms,
      });
      return { ok: true };
    },
  });

  app.get('/agents/:scope/:name/telemetry', {
    schema: {
      tags: ['telemetry'],
      summary: "An agent's runs over the last `days` (default 30): success rate, p50/p95 duration, by version (owners only)",
      params: PackageParams,
      querystring: TelemetryQuery,
      response: { 200: TelemetryStatsResponse, ...errorResponses },
    },
    handler: async (req) => {
      const s = await registry.telemetry.stats(await requestContext(registry, req), req.params.scope, req.params.name, req.query.days ?? 30);
      return {
        full_name: fullName(s.pkg.scope, s.pkg.name),
        days: s.days,
        since: s.sinceDay,
        ...runStats(s.total),
        versions: s.versions.map((v) => ({ version: v.version, ...runStats(v) })),
      };
    },
  });
};
