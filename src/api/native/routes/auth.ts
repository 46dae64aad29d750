import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { badRequest } from '../../../core/errors.js';
import { strictValidatorCompiler } from '../../shared/strict-validator.js';
import type { NativeDoorOptions } from '../index.js';
import { errorResponses } from '../schemas.js';

const StartBody = Type.Object(
  { redirect_uri: Type.Optional(Type.String({ minLength: 1, maxLength: 2000, description: "Where the provider sends the code, e.g. the CLI's http://localhost:9876/callback" })) },
  { additionalProperties: false },
);
const CallbackQuery = Type.Object({
  code: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
  state: Type.String({ minLength: 1, maxLength: 200 }),
  error: Type.Optional(Type.String({ maxLength: 200 })),
  error_description: Type.Optional(Type.String({ maxLength: 2000 })),
});
const SignedIn = Type.Object({
  token: Type.String({ description: 'An Agentry publish token, shown only here' }),
  user: Type.Object({
    username: Type.String(),
    display_name: Type.Union([Type.String(), Type.Null()]),
    avatar_url: Type.Union([Type.String(), Type.Null()]),
    github_id: Type.Union([Type.Integer(), Type.String()], { description: "The provider's id of the user (a number on GitHub)" }),
  }),
});

/** agentx's GitHub sign-in (004), against whichever OAuth2 provider the server is configured with. */
export const authRoutes: FastifyPluginAsyncTypebox<NativeDoorOptions> = async (app, { registry }) => {
  app.post('/auth/github', {
    validatorCompiler: strictValidatorCompiler,
    schema: {
      tags: ['auth'],
      summary: 'Start signing in: answers the provider URL to open in a browser (with a single-use CSRF state)',
      security: [],
      body: StartBody,
      response: { 200: Type.Object({ auth_url: Type.String() }), ...errorResponses },
    },
    handler: async (req) => ({ auth_url: (await registry.signIn.start(req.body.redirect_uri)).authUrl }),
  });

  app.get('/auth/callback', {
    schema: {
      tags: ['auth'],
      summary: 'Finish signing in: checks state, exchanges the code, creates or updates the user, answers a token',
      security: [],
      querystring: CallbackQuery,
      response: { 200: SignedIn, ...errorResponses },
    },
    handler: async (req) => {
      const q = req.query;
      if (q.error) throw badRequest(`Sign-in was not completed at the provider (${q.error})`, q.error_description ? [q.error_description] : []);
      if (!q.code) throw badRequest('Validation failed', ["querystring: missing required field 'code'"]);
      // Whoever calls is signing in: any token sent along is beside the point.
      const r = await registry.signIn.complete({ principal: null, ip: req.ip ?? null }, q.code, q.state);
      const id = /^\d{1,15}$/.test(r.profile.subject) ? Number(r.profile.subject) : r.profile.subject;
      return { token: r.token, user: { username: r.account.name, display_name: r.account.displayName, avatar_url: r.account.avatarUrl, github_id: id } };
    },
  });
};
