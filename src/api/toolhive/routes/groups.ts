import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Registry } from '../../../core/registry.js';
import { requestContext } from '../../shared/request-context.js';
import { textErrors } from '../schemas.js';
import { CreateGroupBody, CreateGroupResponse, DeleteGroupQuery, Group, GroupList, GroupParams } from '../runtime-schemas.js';
import { available } from './available.js';

/** ToolHive's `/api/v1beta/groups`: groups of workloads, server-wide; an administrator creates and deletes them. */
export const groupRoutes: FastifyPluginAsyncTypebox<{ registry: Registry }> = async (app, { registry }) => {
  const tags = ['toolhive'];
  const groups = () => available(registry.groups, 'groups');

  app.get('/groups', {
    schema: { tags, summary: 'List all groups', response: { 200: GroupList } },
    handler: async (req) => ({ groups: await groups().list(await requestContext(registry, req)) }),
  });

  app.post('/groups', {
    schema: { tags, summary: 'Create a new group (administrators)', body: CreateGroupBody, response: { 201: CreateGroupResponse, ...textErrors, 409: textErrors[400] } },
    handler: async (req, reply) => {
      const created = await groups().create(await requestContext(registry, req), req.body.name);
      return reply.status(201).send(created);
    },
  });

  app.get('/groups/:name', {
    schema: { tags, summary: 'Get group details', params: GroupParams, response: { 200: Group } },
    handler: async (req) => groups().get(await requestContext(registry, req), req.params.name),
  });

  app.delete('/groups/:name', {
    schema: {
      tags,
      summary: 'Delete a group (administrators); its workloads move to the default group, or are deleted with ?with-workloads=true',
      params: GroupParams,
      querystring: DeleteGroupQuery,
      response: { 204: Type.Null(), ...textErrors },
    },
    handler: async (req, reply) => {
      await groups().delete(await requestContext(registry, req), req.params.name, req.query['with-workloads'] === 'true');
      return reply.status(204).send(null);
    },
  });
};
