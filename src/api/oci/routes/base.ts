import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { RequestContext } from '../../../core/auth/principal.js';
import { ociError } from '../../../core/oci/oci-errors.js';
import { ociContext } from '../auth.js';
import type { OciDoorOptions } from '../index.js';
import { errorResponses, readLimited } from './shared.js';

const TokenBody = Type.Object({
  token: Type.String(),
  access_token: Type.String(),
  expires_in: Type.Integer(),
  issued_at: Type.String(),
});

const scopesOf = (scope: string | string[] | undefined): string[] => (scope === undefined ? [] : Array.isArray(scope) ? scope : [scope]);

/** `/v2/` (is this a registry, and am I authenticated) and the Docker token flow's token endpoint. */
export const baseRoutes: FastifyPluginAsyncTypebox<OciDoorOptions> = async (app, { registry }) => {
  app.get('/', {
    schema: {
      tags: ['oci'],
      summary: 'OCI registry check (end-1): 200 when authenticated; 401 with a Bearer challenge otherwise',
      response: { 200: Type.Object({}), ...errorResponses },
    },
    handler: async (req, reply) => {
      const ctx = await ociContext(registry, req);
      if (!ctx.principal && ctx.grants === undefined) throw ociError('UNAUTHORIZED', 'Authentication required: log in with a username and an Agentry token');
      return reply.status(200).type('application/json').send({});
    },
  });

  app.get('/token', {
    schema: {
      tags: ['oci'],
      summary: 'Docker token flow: a short-lived bearer token for the requested repository scopes',
      description:
        'Send HTTP Basic auth with any username and an Agentry token as the password (or no credentials, for an anonymous pull-only token). ' +
        'Each `scope` is `repository:<scope>/<name>:<actions>`; the token grants the requested actions the caller may perform.',
      querystring: Type.Object({
        service: Type.Optional(Type.String()),
        scope: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])),
        account: Type.Optional(Type.String()),
        client_id: Type.Optional(Type.String()),
        offline_token: Type.Optional(Type.String()),
      }),
      response: { 200: TokenBody, ...errorResponses },
    },
    handler: async (req) => {
      const ctx = await ociContext(registry, req);
      const issued = await registry.oci.tokens.issue({ principal: ctx.principal, ip: ctx.ip }, scopesOf(req.query.scope));
      return { token: issued.token, access_token: issued.token, expires_in: issued.expiresIn, issued_at: issued.issuedAt };
    },
  });

  app.post('/token', {
    schema: {
      tags: ['oci'],
      summary: 'OAuth2 form of the token endpoint (grant_type=password with username and an Agentry token as password)',
      consumes: ['application/x-www-form-urlencoded'],
      response: { 200: Type.Object({ access_token: Type.String(), expires_in: Type.Integer(), issued_at: Type.String(), scope: Type.String() }), ...errorResponses },
    },
    handler: async (req) => {
      const form = new URLSearchParams((await readLimited(req, 64 * 1024)).toString('utf8'));
      const grant = form.get('grant_type');
      if (grant !== 'password') throw ociError('UNSUPPORTED', `grant_type '${grant ?? ''}' is not supported: use 'password' with an Agentry token as the password`);
      const password = form.get('password');
      if (!password) throw ociError('UNAUTHORIZED', 'A password (an Agentry token) is required');
      const ctx: RequestContext = { principal: await registry.tokens.authenticate(password), ip: req.ip ?? null };
      const scopes = form.getAll('scope');
      const issued = await registry.oci.tokens.issue(ctx, scopes);
      return { access_token: issued.token, expires_in: issued.expiresIn, issued_at: issued.issuedAt, scope: scopes.join(' ') };
    },
  });
};
