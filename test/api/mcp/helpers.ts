import { Api } from '../../helpers/packages.js';
import type { TestServer } from '../../helpers/server.js';

export const OFFICIAL = 'io.modelcontextprotocol.registry/official';

/** An MCP registry client: the admin creates `user`, registers `namespace` to it, and hands back its client. */
export const userWithNamespace = async (server: TestServer, user: string, namespace: string): Promise<Api> => {
  const admin = new Api(server.url, server.adminToken);
  const created = await admin.req('POST', '/api/v1/users', { username: user });
  if (created.status !== 201) throw new Error(`creating ${user}: ${created.status} ${JSON.stringify(created.body)}`);
  const scope = await admin.req('POST', '/api/v1/scopes', { name: namespace, owner: user });
  if (scope.status !== 201) throw new Error(`registering ${namespace}: ${scope.status} ${JSON.stringify(scope.body)}`);
  return admin.with(created.body.token);
};

export const enc = (name: string): string => encodeURIComponent(name);

export const publish = (api: Api, server: unknown, prefix = '/v0.1') => api.req('POST', `${prefix}/publish`, server);
