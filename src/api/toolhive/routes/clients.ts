import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Registry } from '../../../core/registry.js';
import { requestContext } from '../../shared/request-context.js';
import { textErrors } from '../schemas.js';
import { BulkClientBody, BulkClientResponse, ClientGroupParams, ClientList, ClientParams, ClientStatusList, CreateClientBody, CreateClientResponse } from '../runtime-schemas.js';
import { available } from './available.js';

/**
 * ToolHive's `/api/v1beta/clients` and `/discovery/clients`: the MCP client settings files of the
 * account the server runs as (AGENTRY_CLIENTS_HOME). Administrators only.
 */
export const clientRoutes: FastifyPluginAsyncTypebox<{ registry: Registry }> = async (app, { registry }) => {
  const tags = ['toolhive'];
  const clients = () => available(registry.clients, 'client settings');
  const shaped = (name: string, groups: string[]) => ({ name, ...(groups.length > 0 ? { groups } : {}) });

  app.get('/clients', {
    schema: { tags, summary: 'List registered clients and their groups', response: { 200: ClientList } },
    handler: async (req) => clients().list(await requestContext(registry, req)),
  });

  app.post('/clients', {
    schema: {
      tags,
      summary: "Register a client: its settings file gets the running MCP servers of its groups (default: the 'default' group)",
      body: CreateClientBody,
      response: { 200: CreateClientResponse, ...textErrors },
    },
    handler: async (req) => {
      const groups = await clients().register(await requestContext(registry, req), [req.body.name], req.body.groups ?? [], true);
      return shaped(req.body.name, groups);
    },
  });

  app.post('/clients/register', {
    schema: { tags, summary: 'Register several clients', body: BulkClientBody, response: { 200: BulkClientResponse, ...textErrors } },
    handler: async (req) => {
      const groups = await clients().register(await requestContext(registry, req), req.body.names, req.body.groups ?? []);
      return req.body.names.map((n) => shaped(n, groups));
    },
  });

  app.post('/clients/unregister', {
    schema: { tags, summary: 'Unregister several clients (from the given groups, or from everything)', body: BulkClientBody, response: { 204: Type.Null(), ...textErrors } },
    handler: async (req, reply) => {
      await clients().unregister(await requestContext(registry, req), req.body.names, req.body.groups ?? []);
      return reply.status(204).send(null);
    },
  });

  app.delete('/clients/:name', {
    schema: { tags, summary: 'Unregister a client: its Agentry servers leave its settings file', params: ClientParams, response: { 204: Type.Null(), ...textErrors } },
    handler: async (req, reply) => {
      await clients().unregister(await requestContext(registry, req), [req.params.name], []);
      return reply.status(204).send(null);
    },
  });

  app.delete('/clients/:name/groups/:group', {
    schema: { tags, summary: 'Unregister a client from one group', params: ClientGroupParams, response: { 204: Type.Null(), ...textErrors } },
    handler: async (req, reply) => {
      await clients().unregister(await requestContext(registry, req), [req.params.name], [req.params.group], true);
      return reply.status(204).send(null);
    },
  });

  app.get('/discovery/clients', {
    schema: { tags, summary: 'List every client Agentry can configure: installed (its settings folder exists), registered, skills', response: { 200: ClientStatusList } },
    handler: async (req) => ({ clients: await clients().discover(await requestContext(registry, req)) }),
  });
};
