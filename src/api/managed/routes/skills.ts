import multipart from '@fastify/multipart';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { badRequest } from '../../../core/errors.js';
import type { SkillVersionView, SkillView } from '../../../core/managed/skills/managed-skill-service.js';
import type { UploadedFile } from '../../../core/managed/skills/skill-bundle.js';
import { callerOf } from '../caller.js';
import type { ManagedDoorOptions } from '../index.js';
import { listBody, ListOf, PageQuery, pageRequest } from '../paging.js';
import { Bytes, Deleted, Skill, SkillVersion } from '../responses.js';
import { IdParams } from '../schemas.js';

const tags = ['managed agents'];
const FILE_FIELDS = new Set(['files[]', 'files', 'file']);
const VersionParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }), version: Type.String({ minLength: 1, maxLength: 100 }) });

export const skillJson = (s: SkillView) => ({
  type: 'skill' as const,
  id: s.id,
  display_name: s.displayTitle,
  display_title: s.displayTitle,
  description: s.description,
  name: s.name,
  source: { type: s.source },
  latest_version_id: s.latestVersion,
  latest_version: s.latestVersion,
  created_at: s.createdAt,
  updated_at: s.updatedAt,
});

export const versionJson = (v: SkillVersionView) => ({
  type: 'skill_version' as const,
  id: v.version,
  version: v.version,
  skill_id: v.skillId,
  name: v.name,
  description: v.description,
  created_at: v.createdAt,
});

/** Reads a multipart skill upload: files under `files[]` (SDK), `files` or `file` (002), and the text fields. */
const readUpload = async (req: FastifyRequest): Promise<{ files: UploadedFile[]; fields: Record<string, string> }> => {
  const files: UploadedFile[] = [];
  const fields: Record<string, string> = {};
  for await (const part of req.parts()) {
    if (part.type === 'file') {
      if (!FILE_FIELDS.has(part.fieldname)) {
        part.file.resume();
        throw badRequest(`Unexpected file field '${part.fieldname}': send the skill's files as 'files[]' (or 'files')`);
      }
      files.push({ path: part.filename, data: await part.toBuffer() });
    } else fields[part.fieldname] = String(part.value);
  }
  if (files.length === 0) throw badRequest("No files: upload the skill's files (SKILL.md at least) as multipart/form-data in 'files[]'");
  return { files, fields };
};

const MEDIA: Record<string, string> = {
  md: 'text/markdown; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
  json: 'application/json',
  py: 'text/x-python; charset=utf-8',
  sh: 'text/x-shellscript; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  yaml: 'text/yaml; charset=utf-8',
  yml: 'text/yaml; charset=utf-8',
  html: 'text/plain; charset=utf-8',
  png: 'image/png',
  jpg: 'image/jpeg',
  pdf: 'application/pdf',
};
const mediaOf = (path: string): string => MEDIA[path.split('.').pop()?.toLowerCase() ?? ''] ?? 'application/octet-stream';

/** `/v1/skills`: multipart upload (002's and the SDK's fields), files, versions and their content. */
export const skillRoutes: FastifyPluginAsyncTypebox<ManagedDoorOptions> = async (app, { registry, maxUploadBytes }) => {
  const skills = registry.managed.skills;
  await app.register(multipart, { preservePath: true, limits: { fileSize: maxUploadBytes, files: 1000, fields: 20, fieldSize: 64 * 1024, parts: 1020 } });

  app.post('/', {
    schema: {
      tags,
      summary: 'Upload a skill (multipart: files[] and display_name (SDK), or id, display_title, description and files (002))',
      consumes: ['multipart/form-data'],
      response: { 200: Skill },
    },
    handler: async (req) => {
      const ctx = await callerOf(registry, req);
      const { files, fields } = await readUpload(req);
      const builtIn = fields.built_in === undefined ? undefined : /^(1|true|yes)$/i.test(fields.built_in);
      return skillJson(await skills.create(ctx, { files, id: fields.id || undefined, displayTitle: fields.display_title ?? fields.display_name, description: fields.description, builtIn }));
    },
  });

  app.get('/', {
    schema: {
      tags,
      summary: 'List your skills and the built-in ones',
      querystring: Type.Object({ ...PageQuery, source: Type.Optional(Type.Union([Type.Literal('custom'), Type.Literal('anthropic')])) }),
      response: { 200: ListOf(Skill) },
    },
    handler: async (req) => listBody(await skills.list(await callerOf(registry, req), { ...pageRequest(req.query), source: req.query.source }), skillJson),
  });

  app.get('/:id', {
    schema: { tags, summary: 'Get a skill', params: IdParams, response: { 200: Skill } },
    handler: async (req) => skillJson(await skills.get(await callerOf(registry, req), req.params.id)),
  });

  app.delete('/:id', {
    schema: { tags, summary: 'Delete a skill (built-in skills cannot be deleted)', params: IdParams, response: { 200: Deleted('skill_deleted') } },
    handler: async (req) => {
      await skills.delete(await callerOf(registry, req), req.params.id);
      return { id: req.params.id, type: 'skill_deleted' as const };
    },
  });

  app.get('/:id/files/*', {
    schema: {
      tags,
      summary: "Download one file of a skill's latest version",
      params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }), '*': Type.String({ minLength: 1, maxLength: 1024 }) }),
      response: { 200: Bytes },
    },
    handler: async (req, reply) => {
      const f = await skills.file(await callerOf(registry, req), req.params.id, req.params['*']);
      return reply.type(mediaOf(f.path)).send(f.data);
    },
  });

  app.post('/:id/versions', {
    schema: { tags, summary: 'Upload a new version of a skill (multipart files[])', params: IdParams, consumes: ['multipart/form-data'], response: { 200: SkillVersion } },
    handler: async (req) => {
      const ctx = await callerOf(registry, req);
      const { files } = await readUpload(req);
      return versionJson(await skills.addVersion(ctx, req.params.id, files));
    },
  });

  app.get('/:id/versions', {
    schema: { tags, summary: "List a skill's versions, highest first", params: IdParams, querystring: Type.Object(PageQuery), response: { 200: ListOf(SkillVersion) } },
    handler: async (req) => listBody(await skills.versions(await callerOf(registry, req), req.params.id, pageRequest(req.query)), versionJson),
  });

  app.get('/:id/versions/:version', {
    schema: { tags, summary: 'Get one version of a skill', params: VersionParams, response: { 200: SkillVersion } },
    handler: async (req) => versionJson(await skills.version(await callerOf(registry, req), req.params.id, req.params.version)),
  });

  app.delete('/:id/versions/:version', {
    schema: { tags, summary: 'Delete (unpublish) one version of a skill', params: VersionParams, response: { 200: Deleted('skill_version_deleted') } },
    handler: async (req) => {
      await skills.deleteVersion(await callerOf(registry, req), req.params.id, req.params.version);
      return { id: req.params.version, type: 'skill_version_deleted' as const };
    },
  });

  app.get('/:id/versions/:version/content', {
    schema: { tags, summary: "A skill version's files as a gzip tarball", params: VersionParams, response: { 200: Bytes } },
    handler: async (req, reply) => {
      const d = await skills.download(await callerOf(registry, req), req.params.id, req.params.version);
      return reply.type('application/gzip').header('content-length', d.size).header('content-disposition', `attachment; filename="${d.version.name}-${d.version.version}.tgz"`).send(d.body);
    },
  });
};
