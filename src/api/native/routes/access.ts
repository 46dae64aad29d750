import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { fullName } from '../../../core/packages/names.js';
import { requestContext } from '../../shared/request-context.js';
import { strictValidatorCompiler } from '../../shared/strict-validator.js';
import type { NativeDoorOptions } from '../index.js';
import { AccessBody, PackageAccess, PackageParams, ScopeAccess, ScopeParams, errorResponses } from '../schemas.js';

/** Who may read a package, and what a scope's new packages start with (`agentry access get|set`). */
export const accessRoutes: FastifyPluginAsyncTypebox<NativeDoorOptions> = async (app, { registry }) => {
  app.get('/access/:scope/:name', {
    schema: { tags: ['access'], summary: "A package's visibility", params: PackageParams, response: { 200: PackageAccess, ...errorResponses } },
    handler: async (req) => {
      const pkg = await registry.packages.visibility(await requestContext(registry, req), req.params.scope, req.params.name);
      return { package: fullName(pkg.scope, pkg.name), kind: pkg.kind, visibility: pkg.visibility };
    },
  });

  app.put('/access/:scope/:name', {
    schema: {
      tags: ['access'],
      summary: "Change a package's visibility (the scope's owners and maintainers, or an administrator; audited)",
      params: PackageParams,
      body: AccessBody,
      response: { 200: PackageAccess, ...errorResponses },
    },
    // Unknown fields are refused, not dropped (as on every native write whose fields are all required).
    validatorCompiler: strictValidatorCompiler,
    handler: async (req) => {
      const ctx = await requestContext(registry, req);
      const pkg = await registry.packages.setVisibility(ctx, req.params.scope, req.params.name, req.body.visibility);
      return { package: fullName(pkg.scope, pkg.name), kind: pkg.kind, visibility: pkg.visibility };
    },
  });

  app.get('/access/:scope', {
    schema: { tags: ['access'], summary: "The visibility a scope's new packages start with", params: ScopeParams, response: { 200: ScopeAccess, ...errorResponses } },
    handler: async (req) => {
      const scope = await registry.scopes.access(await requestContext(registry, req), req.params.scope);
      return { scope: `@${scope.name}`, visibility: scope.defaultVisibility };
    },
  });

  app.put('/access/:scope', {
    schema: {
      tags: ['access'],
      summary: "Change the visibility a scope's new packages start with (existing packages keep theirs; the scope's owners and maintainers, or an administrator; audited)",
      params: ScopeParams,
      body: AccessBody,
      response: { 200: ScopeAccess, ...errorResponses },
    },
    validatorCompiler: strictValidatorCompiler,
    handler: async (req) => {
      const ctx = await requestContext(registry, req);
      const scope = await registry.scopes.setAccess(ctx, req.params.scope, req.body.visibility);
      return { scope: `@${scope.name}`, visibility: scope.defaultVisibility };
    },
  });
};
