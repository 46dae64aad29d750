import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { CredentialView, VaultView } from '../../../core/managed/vaults/vault-service.js';
import { callerOf } from '../caller.js';
import type { ManagedDoorOptions } from '../index.js';
import { listBody, ListOf, PageQuery, pageRequest } from '../paging.js';
import { Credential, Deleted, Vault } from '../responses.js';
import { CredentialCreateBody, CredentialUpdateBody, IdParams, VaultCreateBody, VaultUpdateBody } from '../schemas.js';

const tags = ['managed agents'];
const CredParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }), credential_id: Type.String({ minLength: 1, maxLength: 128 }) });

/** A vault: never its secret, only whether it has one. */
export const vaultJson = (v: VaultView) => ({
  type: 'vault' as const,
  id: v.id,
  display_name: v.displayName,
  name: v.displayName,
  metadata: v.metadata,
  has_secret: v.hasSecret,
  secret_updated_at: v.secretUpdatedAt,
  created_at: v.createdAt,
  updated_at: v.updatedAt,
  archived_at: v.archivedAt,
});

export const credentialJson = (c: CredentialView) => ({
  type: 'vault_credential' as const,
  id: c.id,
  vault_id: c.vaultId,
  display_name: c.displayName,
  metadata: c.metadata,
  auth: c.auth,
  created_at: c.createdAt,
  updated_at: c.updatedAt,
  archived_at: c.archivedAt,
});

/** `/v1/vaults`: 002's form (secret in the body, rotate by PATCH) and the SDK's credentials. */
export const vaultRoutes: FastifyPluginAsyncTypebox<ManagedDoorOptions> = async (app, { registry }) => {
  const vaults = registry.managed.vaults;

  app.post('/', {
    schema: { tags, summary: 'Create a vault (002: with its secret)', body: VaultCreateBody, response: { 200: Vault } },
    handler: async (req) =>
      vaultJson(await vaults.create(await callerOf(registry, req), { displayName: req.body.display_name ?? req.body.name, metadata: req.body.metadata, secret: req.body.secret })),
  });

  app.get('/', {
    schema: { tags, summary: 'List vaults (never their secrets)', querystring: Type.Object({ ...PageQuery, include_archived: Type.Optional(Type.Boolean()) }), response: { 200: ListOf(Vault) } },
    handler: async (req) => listBody(await vaults.list(await callerOf(registry, req), { ...pageRequest(req.query), includeArchived: req.query.include_archived }), vaultJson),
  });

  app.get('/:id', {
    schema: { tags, summary: 'Get a vault', params: IdParams, response: { 200: Vault } },
    handler: async (req) => vaultJson(await vaults.get(await callerOf(registry, req), req.params.id)),
  });

  for (const method of ['patch', 'post'] as const) {
    app[method]('/:id', {
      schema: { tags, summary: method === 'patch' ? 'Update a vault, rotating its secret (002)' : 'Update a vault (SDK)', params: IdParams, body: VaultUpdateBody, response: { 200: Vault } },
      handler: async (req) =>
        vaultJson(
          await vaults.update(await callerOf(registry, req), req.params.id, {
            displayName: req.body.display_name ?? req.body.name,
            metadata: req.body.metadata,
            secret: req.body.secret,
          }),
        ),
    });
  }

  app.post('/:id/archive', {
    schema: { tags, summary: 'Archive a vault (SDK)', params: IdParams, response: { 200: Vault } },
    handler: async (req) => vaultJson(await vaults.archive(await callerOf(registry, req), req.params.id)),
  });

  app.delete('/:id', {
    schema: { tags, summary: 'Delete a vault, its credentials and their secrets', params: IdParams, response: { 200: Deleted('vault_deleted') } },
    handler: async (req) => {
      await vaults.delete(await callerOf(registry, req), req.params.id);
      return { id: req.params.id, type: 'vault_deleted' as const };
    },
  });

  app.post('/:id/credentials', {
    schema: { tags, summary: 'Add a credential (its secret fields are stored encrypted, never returned)', params: IdParams, body: CredentialCreateBody, response: { 200: Credential } },
    handler: async (req) =>
      credentialJson(await vaults.createCredential(await callerOf(registry, req), req.params.id, { auth: req.body.auth, displayName: req.body.display_name, metadata: req.body.metadata })),
  });

  app.get('/:id/credentials', {
    schema: {
      tags,
      summary: "List a vault's credentials",
      params: IdParams,
      querystring: Type.Object({ ...PageQuery, include_archived: Type.Optional(Type.Boolean()) }),
      response: { 200: ListOf(Credential) },
    },
    handler: async (req) =>
      listBody(await vaults.credentials(await callerOf(registry, req), req.params.id, { ...pageRequest(req.query), includeArchived: req.query.include_archived }), credentialJson),
  });

  app.get('/:id/credentials/:credential_id', {
    schema: { tags, summary: 'Get a credential', params: CredParams, response: { 200: Credential } },
    handler: async (req) => credentialJson(await vaults.credential(await callerOf(registry, req), req.params.id, req.params.credential_id)),
  });

  app.post('/:id/credentials/:credential_id', {
    schema: { tags, summary: 'Update or rotate a credential', params: CredParams, body: CredentialUpdateBody, response: { 200: Credential } },
    handler: async (req) =>
      credentialJson(
        await vaults.updateCredential(await callerOf(registry, req), req.params.id, req.params.credential_id, {
          auth: req.body.auth,
          displayName: req.body.display_name,
          metadata: req.body.metadata,
        }),
      ),
  });

  app.post('/:id/credentials/:credential_id/archive', {
    schema: { tags, summary: 'Archive a credential (its secret is deleted)', params: CredParams, response: { 200: Credential } },
    handler: async (req) => credentialJson(await vaults.archiveCredential(await callerOf(registry, req), req.params.id, req.params.credential_id)),
  });

  app.delete('/:id/credentials/:credential_id', {
    schema: { tags, summary: 'Delete a credential and its secret', params: CredParams, response: { 200: Deleted('vault_credential_deleted') } },
    handler: async (req) => {
      await vaults.deleteCredential(await callerOf(registry, req), req.params.id, req.params.credential_id);
      return { id: req.params.credential_id, type: 'vault_credential_deleted' as const };
    },
  });
};
