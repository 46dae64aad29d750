import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { NumericId, pathId } from '../../shared/numeric-id.js';
import { strictValidatorCompiler } from '../../shared/strict-validator.js';
import { requestContext } from '../../shared/request-context.js';
import type { NativeDoorOptions } from '../index.js';
import {
  AuditResponse,
  CreateOrgBody,
  CreateTokenBody,
  CreateUserBody,
  CreatedToken,
  CreatedUser,
  MemberBody,
  MembersResponse,
  OrgView,
  Profile,
  TokenView,
  Whoami,
  errorResponses,
} from '../schemas.js';
import { members, tokenView } from '../views.js';

const UserParams = Type.Object({ username: Type.String({ minLength: 1, maxLength: 40 }) });
const OrgParams = Type.Object({ org: Type.String({ minLength: 1, maxLength: 40 }) });
const MemberParams = Type.Object({ org: Type.String({ minLength: 1, maxLength: 40 }), username: Type.String({ minLength: 1, maxLength: 40 }) });
const TokenIdParams = Type.Object({ id: NumericId('The token id (see GET /api/v1/tokens)') });

const OwnAuditQuery = Type.Object({
  action: Type.Optional(Type.String({ maxLength: 100 })),
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, default: 1 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
});

export const accountRoutes: FastifyPluginAsyncTypebox<NativeDoorOptions> = async (app, { registry }) => {
  app.get('/whoami/audit', {
    schema: { tags: ['accounts'], summary: "The audit log of the caller's own account (what it did), newest first", querystring: OwnAuditQuery, response: { 200: AuditResponse, ...errorResponses } },
    handler: async (req) => {
      const ctx = await requestContext(registry, req);
      const page = req.query.page ?? 1;
      const limit = req.query.limit ?? 50;
      const r = await registry.ownAudit(ctx, { action: req.query.action, offset: (page - 1) * limit, limit });
      return {
        entries: r.rows.map((e) => ({ id: e.id, at: e.at, actor: e.actor, action: e.action, target: e.target, ip: e.ip, details: e.details })),
        total: r.total,
        page,
        limit,
      };
    },
  });

  app.get('/whoami', {
    schema: { tags: ['accounts'], summary: 'The account and token making the request', response: { 200: Whoami, ...errorResponses } },
    handler: async (req) => {
      const ctx = await requestContext(registry, req);
      const p = registry.policy.requirePrincipal(ctx);
      const [orgs, scopes] = await Promise.all([registry.accounts.orgsOf(p.account), registry.policy.writableScopes(p.account)]);
      return {
        username: p.account.name,
        display_name: p.account.displayName,
        kind: p.account.kind,
        is_admin: p.account.isAdmin,
        orgs: orgs.map((o) => ({ name: o.account.name, role: o.role })),
        scopes: scopes.map((s) => `@${s}`),
        token: { id: p.token.id, name: p.token.name, permission: p.token.permission, scopes: p.token.scopes?.map((s) => `@${s}`) ?? null, expires_at: p.token.expiresAt },
      };
    },
  });

  app.get('/tokens', {
    schema: { tags: ['tokens'], summary: "The caller's tokens (never their secrets)", response: { 200: Type.Object({ tokens: Type.Array(TokenView) }), ...errorResponses } },
    handler: async (req) => ({ tokens: (await registry.tokens.list(await requestContext(registry, req))).map(tokenView) }),
  });

  app.post('/tokens', {
    schema: { tags: ['tokens'], summary: 'Create a token (its secret is shown only in this answer)', body: CreateTokenBody, response: { 201: CreatedToken, ...errorResponses } },
    validatorCompiler: strictValidatorCompiler,
    handler: async (req, reply) => {
      const ctx = await requestContext(registry, req);
      const created = await registry.tokens.create(ctx, {
        name: req.body.name,
        permission: req.body.permission,
        scopes: req.body.scopes,
        expiresInDays: req.body.expires_in_days,
        account: req.body.account,
        allAccounts: req.body.all_accounts,
      });
      return reply.status(201).send({ ...tokenView(created.record), account: created.account, token: created.secret });
    },
  });

  app.delete('/tokens/:id', {
    schema: { tags: ['tokens'], summary: 'Revoke a token', params: TokenIdParams, response: { 200: Type.Object({ success: Type.Boolean() }), ...errorResponses } },
    handler: async (req) => {
      await registry.tokens.revoke(await requestContext(registry, req), pathId(req.params.id, 'Token'));
      return { success: true };
    },
  });

  app.post('/users', {
    schema: { tags: ['accounts'], summary: 'Create a user (admin)', body: CreateUserBody, response: { 201: CreatedUser, ...errorResponses } },
    validatorCompiler: strictValidatorCompiler,
    handler: async (req, reply) => {
      const ctx = await requestContext(registry, req);
      const { account, token } = await registry.accounts.createUser(ctx, {
        username: req.body.username,
        displayName: req.body.display_name,
        email: req.body.email,
        admin: req.body.admin,
      });
      return reply.status(201).send({
        username: account.name,
        display_name: account.displayName,
        is_admin: account.isAdmin,
        created_at: account.createdAt,
        token: token.secret,
      });
    },
  });

  app.get('/users/:username', {
    schema: { tags: ['accounts'], summary: 'Public profile', params: UserParams, response: { 200: Profile, ...errorResponses } },
    handler: async (req) => {
      const profile = await registry.accounts.profile(await requestContext(registry, req), req.params.username);
      const a = profile.account;
      return {
        username: a.name,
        kind: a.kind,
        display_name: a.displayName,
        avatar_url: a.avatarUrl,
        bio: a.bio,
        website: a.website,
        agent_count: profile.packageCount,
        total_downloads: profile.totalDownloads,
        created_at: a.createdAt,
      };
    },
  });

  app.post('/orgs', {
    schema: { tags: ['accounts'], summary: 'Create an organisation (admin)', body: CreateOrgBody, response: { 201: OrgView, ...errorResponses } },
    validatorCompiler: strictValidatorCompiler,
    handler: async (req, reply) => {
      const ctx = await requestContext(registry, req);
      const { account, members: list } = await registry.accounts.createOrg(ctx, { name: req.body.name, displayName: req.body.display_name, owner: req.body.owner });
      return reply.status(201).send({ name: account.name, display_name: account.displayName, members: members(list), created_at: account.createdAt });
    },
  });

  app.get('/orgs/:org', {
    schema: { tags: ['accounts'], summary: 'An organisation and its members', params: OrgParams, response: { 200: OrgView, ...errorResponses } },
    handler: async (req) => {
      const org = await registry.accounts.findOrg(req.params.org);
      return { name: org.name, display_name: org.displayName, members: members(await registry.accounts.members(org.name)), created_at: org.createdAt };
    },
  });

  app.put('/orgs/:org/members/:username', {
    schema: { tags: ['accounts'], summary: 'Add a member or change a role (admin or org owner)', params: MemberParams, body: MemberBody, response: { 200: MembersResponse, ...errorResponses } },
    validatorCompiler: strictValidatorCompiler,
    handler: async (req) => {
      const ctx = await requestContext(registry, req);
      return { success: true, members: members(await registry.accounts.setMember(ctx, req.params.org, req.params.username, req.body.role)) };
    },
  });

  app.delete('/orgs/:org/members/:username', {
    schema: { tags: ['accounts'], summary: 'Remove a member (admin or org owner)', params: MemberParams, response: { 200: MembersResponse, ...errorResponses } },
    handler: async (req) => {
      const ctx = await requestContext(registry, req);
      return { success: true, members: members(await registry.accounts.removeMember(ctx, req.params.org, req.params.username)) };
    },
  });
};
