import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { AgentryError, badRequest } from '../../../core/errors.js';
import { isPlainObject } from '../../../core/packages/manifest/fields.js';
import { requestContext } from '../../shared/request-context.js';
import type { ToolhiveDoorOptions } from '../index.js';
import { ContentQuery, SkillContent, ValidateSkillBody, ValidateSkillMultipart, ValidateSkillQuery, ValidationResult } from '../schemas.js';

const GZIP_TYPES = ['application/gzip', 'application/x-gzip', 'application/octet-stream'];

/** ToolHive's skill validation and content routes, for the skills Agentry holds or is sent. */
export const skillRoutes: FastifyPluginAsyncTypebox<ToolhiveDoorOptions> = async (app, { registry, maxTarballBytes, publicUrl }) => {
  const tags = ['toolhive'];
  /** The caller, and the names under which this server's own OCI registry is reached (for OCI skill references). */
  const refContext = async (req: FastifyRequest) => ({
    ctx: await requestContext(registry, req),
    selfHosts: [req.host, ...(publicUrl ? [new URL(publicUrl).host] : [])],
  });
  // A skill archive may also be sent as the raw body.
  app.addContentTypeParser(GZIP_TYPES, { parseAs: 'buffer', bodyLimit: maxTarballBytes }, (_req, body, done) => done(null, body));

  app.post('/skills/validate', {
    schema: {
      tags,
      summary: 'Validate a skill: a path under the skills root, a reference to a stored skill, or an uploaded .tar.gz',
      description:
        "JSON `{path}` (a folder under AGENTRY_SKILLS_ROOT) or `{ref}` (@scope/name[@version]); multipart/form-data with the archive in an 'archive' file field (and optionally 'name', the folder name); or the .tar.gz itself as application/gzip (folder name in ?name=).",
      body: {
        content: {
          'application/json': { schema: ValidateSkillBody },
          'multipart/form-data': { schema: ValidateSkillMultipart },
          'application/gzip': { schema: { binaryFile: true, description: 'The skill as a .tar.gz' } },
        },
      },
      querystring: ValidateSkillQuery,
      response: { 200: ValidationResult },
    },
    handler: async (req) => {
      const body: unknown = req.body;
      const query = req.query;
      let result;
      if (typeof body === 'string') {
        throw new AgentryError('unsupported_media_type', `Unsupported Content-Type '${req.headers['content-type'] ?? ''}'`, [
          'send application/json ({path} or {ref}), multipart/form-data (an archive file) or application/gzip',
        ]);
      }
      if (Buffer.isBuffer(body)) {
        result = await registry.skills.validateArchive(body, query.name || undefined);
      } else if (isPlainObject(body) && Buffer.isBuffer(body.archive)) {
        const name = typeof body.name === 'string' && body.name !== '' ? body.name : query.name || undefined;
        result = await registry.skills.validateArchive(body.archive, name);
      } else if (isPlainObject(body) && (typeof body.path === 'string') !== (typeof body.ref === 'string')) {
        result = typeof body.path === 'string' ? await registry.skills.validatePath(body.path) : await registry.skills.validateRef(body.ref as string, await refContext(req));
      } else {
        throw badRequest('Send exactly one skill to validate', [
          'JSON {"path": …} (a folder under the server\'s skills root) or {"ref": "@scope/name[@version]"}, multipart/form-data with an \'archive\' file, or an application/gzip body',
        ]);
      }
      return { valid: result.valid, errors: result.errors, warnings: result.warnings };
    },
  });

  app.get('/skills/content', {
    schema: { tags, summary: "Get a stored skill's SKILL.md body and file listing without installing it", querystring: ContentQuery, response: { 200: SkillContent } },
    handler: async (req) => {
      const c = await registry.skills.content(req.query.ref, await refContext(req));
      return { ...c, license: c.license ?? '' };
    },
  });
};
