import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { AgentryError, badRequest, notImplemented } from '../../../core/errors.js';
import { isPlainObject } from '../../../core/packages/manifest/fields.js';
import { requestContext } from '../../shared/request-context.js';
import type { ToolhiveDoorOptions } from '../index.js';
import type { SkillInstallRecord } from '../../../core/skills/skill-install-store.js';
import {
  ContentQuery,
  InstallSkillBody,
  InstallSkillResponse,
  SkillContent,
  SkillInfo,
  SkillListQuery,
  SkillListResponse,
  SkillParams,
  SkillScopeQuery,
  textErrors,
  ValidateSkillBody,
  ValidateSkillMultipart,
  ValidateSkillQuery,
  ValidationResult,
} from '../schemas.js';
import { available } from './available.js';

const GZIP_TYPES = ['application/gzip', 'application/x-gzip', 'application/octet-stream'];

const metadataOf = (r: SkillInstallRecord) => ({ name: r.name, description: r.description, version: r.tag, author: r.author, tags: r.tags });

/** An install as ToolHive's InstalledSkill. */
const installedView = (r: SkillInstallRecord) => ({
  metadata: metadataOf(r),
  scope: r.scope,
  reference: r.reference,
  tag: r.tag,
  digest: r.digest,
  status: 'installed',
  installed_at: r.installedAt,
  clients: r.clients,
  dependencies: [],
});

/**
 * ToolHive's skills routes: validation and content, for the skills Agentry holds or is sent; and
 * install, list, details and uninstall, which write this registry's skills into the MCP clients'
 * skills folders of the server's clients home (AGENTRY_CLIENTS_HOME), one account's installs at a time.
 */
export const skillRoutes: FastifyPluginAsyncTypebox<ToolhiveDoorOptions> = async (app, { registry, maxTarballBytes, publicUrl }) => {
  const tags = ['toolhive'];
  const installs = () => available(registry.skillInstalls, 'skill installs');
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

  app.get('/skills', {
    schema: { tags, summary: "List the caller's installed skills", querystring: SkillListQuery, response: { 200: SkillListResponse, ...textErrors } },
    handler: async (req) => {
      const q = req.query;
      const found = await installs().list(await requestContext(registry, req), { scope: q.scope, client: q.client, projectRoot: q.project_root, group: q.group });
      return { skills: found.map(installedView) };
    },
  });

  app.post('/skills', {
    schema: {
      tags,
      summary: "Install a skill of this registry into MCP clients' skills folders (~/.claude/skills/<name>/, …)",
      body: InstallSkillBody,
      response: { 201: InstallSkillResponse, ...textErrors, 409: textErrors[400] },
    },
    handler: async (req, reply) => {
      const { ctx, selfHosts } = await refContext(req);
      const b = req.body;
      const r = await installs().install(ctx, { name: b.name, version: b.version, scope: b.scope, projectRoot: b.project_root, clients: b.clients, group: b.group, force: b.force }, selfHosts);
      return reply
        .status(201)
        .header('location', `/api/v1beta/skills/${r.name}`)
        .send({ skill: installedView(r) });
    },
  });

  app.get('/skills/:name', {
    schema: { tags, summary: 'Get an installed skill', params: SkillParams, querystring: SkillScopeQuery, response: { 200: SkillInfo, ...textErrors } },
    handler: async (req) => {
      const r = await installs().info(await requestContext(registry, req), req.params.name, req.query.scope, req.query.project_root);
      return { installed_skill: installedView(r), metadata: metadataOf(r) };
    },
  });

  app.delete('/skills/:name', {
    schema: { tags, summary: "Uninstall a skill: its folders leave the clients' skills folders", params: SkillParams, querystring: SkillScopeQuery, response: { 204: Type.Null(), ...textErrors } },
    handler: async (req, reply) => {
      await installs().uninstall(await requestContext(registry, req), req.params.name, req.query.scope, req.query.project_root);
      return reply.status(204).send(null);
    },
  });

  // Project skills live in a project's toolhive.lock.yaml; Agentry installs for the user only (ToolHive documents 501 here).
  for (const op of ['sync', 'upgrade'] as const) {
    app.post(`/skills/${op}`, {
      schema: { tags, summary: `${op === 'sync' ? 'Sync' : 'Upgrade'} project skills from a lock file: not implemented (501), Agentry installs for the user only`, response: textErrors },
      handler: async () => {
        throw notImplemented(`Project skills are not offered: Agentry installs skills for the user only, so there is no lock file to ${op}`);
      },
    });
  }
};
