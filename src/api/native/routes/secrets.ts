import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requestContext } from '../../shared/request-context.js';
import type { NativeDoorOptions } from '../index.js';
import { errorResponses } from '../schemas.js';

const RotateKeyResponse = Type.Object({
  active_key_id: Type.String({ description: 'The root key that now encrypts every secret value' }),
  reencrypted: Type.Integer({ description: 'Values re-encrypted under it' }),
  retired_key_ids: Type.Array(Type.String(), { description: 'Keys no value needs any more' }),
});

export const secretRoutes: FastifyPluginAsyncTypebox<NativeDoorOptions> = async (app, { registry }) => {
  app.post('/admin/secrets/rotate-key', {
    schema: {
      tags: ['admin'],
      summary: 'Re-encrypt every secret value under a new root key, while serving (admin, built-in backend)',
      description:
        'With the key file in the data directory, a new key is generated and written first, every value is re-encrypted, then the old key is dropped. ' +
        'With AGENTRY_SECRET_KEY, put the new key first in the list (new,old), restart, call this, then remove the old key.',
      response: { 200: RotateKeyResponse, ...errorResponses },
    },
    handler: async (req) => {
      const r = await registry.secrets.rotateKey(await requestContext(registry, req));
      return { active_key_id: r.activeKeyId, reencrypted: r.reencrypted, retired_key_ids: r.retiredKeyIds };
    },
  });
};
