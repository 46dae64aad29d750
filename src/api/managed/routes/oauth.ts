import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { badRequest, notFound } from '../../../core/errors.js';
import type { ManagedDoorOptions } from '../index.js';

const tags = ['console sign-in'];
const ProviderParams = Type.Object({ provider: Type.String({ minLength: 1, maxLength: 64 }) });
/** The door's error body; a 501 when the server has no OAuth sign-in configured. */
const NotConfigured = Type.Object({ type: Type.Literal('error'), error: Type.Object({ type: Type.String(), message: Type.String() }), request_id: Type.String() });
const SignedIn = Type.Object({
  token: Type.String({ description: 'An Agentry publish token, shown only here' }),
  user: Type.Object({ username: Type.String(), display_name: Type.Union([Type.String(), Type.Null()]), avatar_url: Type.Union([Type.String(), Type.Null()]) }),
});

/**
 * 002's Console sign-in, `GET /v1/oauth/:provider/authorize|callback`, on the server's one OAuth
 * sign-in (the same provider, states and accounts as `POST /api/v1/auth/github`). No token is needed.
 */
export const oauthRoutes: FastifyPluginAsyncTypebox<ManagedDoorOptions> = async (app, { registry }) => {
  const provider = (name: string): void => {
    const configured = registry.signIn.provider;
    if (configured !== undefined && name.toLowerCase() !== configured.toLowerCase()) throw notFound(`No sign-in provider '${name.slice(0, 64)}' on this server (it signs in with ${configured})`);
  };

  app.get('/:provider/authorize', {
    schema: {
      tags,
      summary: 'Start signing in: redirects a browser to the provider (302) with a single-use CSRF state; answers {auth_url} to Accept: application/json',
      security: [],
      params: ProviderParams,
      querystring: Type.Object({ redirect_uri: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })) }),
      response: { 200: Type.Object({ auth_url: Type.String() }), 302: Type.Null(), 501: NotConfigured },
    },
    handler: async (req, reply) => {
      provider(req.params.provider);
      const { authUrl } = await registry.signIn.start(req.query.redirect_uri);
      const accept = req.headers.accept ?? '';
      if (accept.includes('application/json') && !accept.includes('text/html')) return { auth_url: authUrl };
      return reply.redirect(authUrl, 302);
    },
  });

  app.get('/:provider/callback', {
    schema: {
      tags,
      summary: 'Finish signing in: checks the state, exchanges the code, creates or updates the user, answers a token',
      security: [],
      params: ProviderParams,
      querystring: Type.Object({
        code: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
        state: Type.String({ minLength: 1, maxLength: 200 }),
        error: Type.Optional(Type.String({ maxLength: 200 })),
        error_description: Type.Optional(Type.String({ maxLength: 2000 })),
      }),
      response: { 200: SignedIn, 501: NotConfigured },
    },
    handler: async (req) => {
      provider(req.params.provider);
      const q = req.query;
      if (q.error) throw badRequest(`Sign-in was not completed at the provider (${q.error})`, q.error_description ? [q.error_description] : []);
      if (!q.code) throw badRequest("missing required query parameter 'code'");
      const r = await registry.signIn.complete({ principal: null, ip: req.ip ?? null }, q.code, q.state);
      return { token: r.token, user: { username: r.account.name, display_name: r.account.displayName, avatar_url: r.account.avatarUrl } };
    },
  });
};
