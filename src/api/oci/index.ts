import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Registry } from '../../core/registry.js';
import { ociErrorHandler } from './errors.js';
import { baseRoutes } from './routes/base.js';
import { blobRoutes } from './routes/blobs.js';
import { discoveryRoutes } from './routes/discovery.js';
import { manifestRoutes } from './routes/manifests.js';
import { uploadRoutes } from './routes/uploads.js';

export interface OciDoorOptions {
  registry: Registry;
  publicUrl?: string;
}

/**
 * The OCI Distribution door under `/v2`: translates the distribution spec's requests to the
 * core's OciService and its answers back. Bodies are never parsed or buffered here: every
 * request body reaches the handler as the raw stream (blobs stream to disk, manifests are
 * read with a size limit).
 */
export { ociRepositoryUrl } from './routes/shared.js';

export const ociDoor: FastifyPluginAsyncTypebox<OciDoorOptions> = async (app, opts) => {
  app.setErrorHandler(ociErrorHandler(opts.publicUrl));
  app.setNotFoundHandler((req, reply) => {
    void reply
      .status(404)
      .type('application/json; charset=utf-8')
      .send({ errors: [{ code: 'NAME_UNKNOWN', message: `No OCI route for ${req.method} ${req.url.split('?')[0]}; repository names are <scope>/<name>, at any depth` }] });
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
  app.addHook('onSend', async (_req, reply, payload) => {
    void reply.header('Docker-Distribution-API-Version', 'registry/2.0');
    return payload;
  });
  const routeOpts: OciDoorOptions = { registry: opts.registry, publicUrl: opts.publicUrl };
  await app.register(baseRoutes, routeOpts);
  await app.register(blobRoutes, routeOpts);
  await app.register(uploadRoutes, routeOpts);
  await app.register(manifestRoutes, routeOpts);
  await app.register(discoveryRoutes, routeOpts);
};
