import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { pageLimit } from '../../../core/managed/page-token.js';
import { callerOf } from '../caller.js';
import type { ManagedDoorOptions } from '../index.js';
import * as R from '../responses.js';
import { IdParams, MetadataCreate } from '../schemas.js';

const tags = ['evals'];
const Loose = Type.Record(Type.String(), Type.Unknown());
const Strings = Type.Array(Type.String({ maxLength: 40 }), { maxItems: 10 });

const EvalCreateBody = Type.Object(
  {
    name: Type.Optional(Type.Union([Type.String({ maxLength: 256 }), Type.Null()])),
    agent: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 128 }), Loose], { description: 'An agent id (its latest version), or {type: "agent", id, version}' })),
    agent_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: "OMA's name for agent" })),
    environment_id: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 128 }), Type.Null()])),
    cases: Type.Optional(
      Type.Array(Loose, {
        maxItems: 200,
        description:
          'Each {id?, messages: [string | content blocks], setup_files?: [{path, content}], trials?, timeout_ms?, verifier?: {type: exact, expected} | {type: regex, pattern, flags?} | {type: script, script, timeout_ms?} | {type: llm_judge, model, criteria, pass_threshold?}}',
      }),
    ),
    tasks: Type.Optional(Type.Array(Loose, { maxItems: 200, description: "OMA's name for cases" })),
    trials: Type.Optional(Type.Integer({ minimum: 1, maximum: 10, description: 'Trials per case unless a case says (default 1)' })),
    concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 16, description: 'Trials run at once (default 4)' })),
    metadata: Type.Optional(MetadataCreate),
  },
  { additionalProperties: false },
);

const ListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  page: Type.Optional(Type.String({ maxLength: 500 })),
  cursor: Type.Optional(Type.String({ maxLength: 500 })),
  agent_id: Type.Optional(Type.String({ maxLength: 128 })),
  status: Type.Optional(Strings),
});

/** `/v1/evals` (002): start an eval run, list the caller's runs, read one's progress and results, cancel one. */
export const evalRoutes: FastifyPluginAsyncTypebox<ManagedDoorOptions> = async (app, { registry }) => {
  const evals = registry.evals;
  if (!evals) return;

  app.post('/', {
    schema: { tags, summary: 'Start an eval: the agent over the cases, each trial a session, scored by the case verifier', body: EvalCreateBody, response: { 200: R.EvalRun } },
    handler: async (req) => evals.create(await callerOf(registry, req), req.body),
  });

  app.get('/', {
    schema: { tags, summary: "List the caller's eval runs, newest first", querystring: ListQuery, response: { 200: R.EvalRunList } },
    handler: async (req) => {
      const q = req.query;
      const page = await evals.list(await callerOf(registry, req), { limit: pageLimit(q.limit), page: q.page || q.cursor || undefined, agentId: q.agent_id, statuses: q.status });
      return { data: page.rows, next_page: page.nextPage, has_more: page.nextPage !== null };
    },
  });

  app.get('/:id', {
    schema: { tags, summary: "An eval run's progress, per-case results and aggregate score", params: IdParams, response: { 200: R.EvalRun } },
    handler: async (req) => evals.get(await callerOf(registry, req), req.params.id),
  });

  app.post('/:id/cancel', {
    schema: { tags, summary: 'Cancel an eval run: unfinished trials are cancelled and their sessions interrupted', params: IdParams, response: { 200: R.EvalRun } },
    handler: async (req) => evals.cancel(await callerOf(registry, req), req.params.id),
  });
};
