import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { keyIdOf, publicKeyFromPem } from '../../../core/signatures/package-signature.js';
import type { ScopeRecord } from '../../../core/accounts/account-repo.js';
import { fullName } from '../../../core/packages/names.js';
import { requestContext } from '../../shared/request-context.js';
import { strictValidatorCompiler } from '../../shared/strict-validator.js';
import type { NativeDoorOptions } from '../index.js';
import { ScopeParams, VersionParams, errorResponses } from '../schemas.js';
import { KIND_ROUTES } from './packages.js';

const Bundle = Type.Object({}, { additionalProperties: true, description: 'A Sigstore bundle (application/vnd.dev.sigstore.bundle.v0.3+json), as JSON' });

const SignatureItem = Type.Object({
  digest: Type.String({ description: 'The digest of the OCI referrer manifest carrying the bundle' }),
  key_id: Type.Union([Type.String(), Type.Null()], { description: "The signing key's id (the bundle's public-key hint: hex sha256 of its DER SubjectPublicKeyInfo)" }),
  trusted: Type.Union([Type.Boolean(), Type.Null()], { description: 'Whether it verifies with a key the scope trusts; null when the scope trusts none' }),
  bundle: Bundle,
});
const SignaturesResponse = Type.Object({
  package: Type.String(),
  version: Type.String(),
  sha256: Type.String({ description: "The tarball's sha256, which a signature signs" }),
  size: Type.Integer({ description: "The tarball's size in bytes" }),
  signed: Type.Boolean({ description: 'At least one signature is attached' }),
  signatures: Type.Array(SignatureItem),
});
const SignBody = Type.Object({ bundle: Bundle }, { additionalProperties: false });
const SignResponse = Type.Object({ success: Type.Boolean(), package: Type.String(), version: Type.String(), key_id: Type.String(), digest: Type.String() });

const SigningPolicy = Type.Object({
  scope: Type.String({ description: '@scope' }),
  required: Type.Boolean({ description: 'Every publish to the scope must carry a signature made with one of its keys' }),
  keys: Type.Array(Type.Object({ key_id: Type.String(), pem: Type.String() })),
});
const SigningBody = Type.Object(
  {
    required: Type.Boolean(),
    keys: Type.Array(Type.String({ minLength: 1, maxLength: 10_000, description: 'A PEM public key (ECDSA P-256 or Ed25519)' }), { maxItems: 20 }),
  },
  { additionalProperties: false },
);

const policyView = (s: ScopeRecord) => ({
  scope: `@${s.name}`,
  required: s.signing.required,
  keys: s.signing.keys.map((pem) => ({ key_id: keyIdOf(publicKeyFromPem(pem)), pem })),
});

/** Package signatures (Sigstore bundles attached to versions as OCI referrers) and each scope's signing policy. */
export const signatureRoutes: FastifyPluginAsyncTypebox<NativeDoorOptions> = async (app, { registry }) => {
  for (const route of KIND_ROUTES) {
    const item = `/${route.segment}/:scope/:name/versions/:version/signatures`;
    const tags = [route.tag];
    app.get(item, {
      schema: { tags, summary: "A version's signatures (a version or dist-tag)", params: VersionParams, response: { 200: SignaturesResponse, ...errorResponses } },
      handler: async (req) => {
        const { pkg, version, signatures } = await registry.signatures.list(await requestContext(registry, req), req.params.scope, req.params.name, req.params.version, route.kind);
        return {
          package: fullName(pkg.scope, pkg.name),
          version: version.version,
          sha256: version.digest.replace(/^sha256:/, ''),
          size: version.size,
          signed: signatures.length > 0,
          signatures: signatures.map((s) => ({ digest: s.digest, key_id: s.keyId, trusted: s.trusted, bundle: s.bundle })),
        };
      },
    });
    app.post(item, {
      schema: {
        tags,
        summary: "Attach a signature to a version (the scope's writers; verified with the scope's keys when it trusts any)",
        params: VersionParams,
        body: SignBody,
        response: { 200: SignResponse, ...errorResponses },
      },
      validatorCompiler: strictValidatorCompiler,
      handler: async (req) => {
        const ctx = await requestContext(registry, req);
        const r = await registry.signatures.sign(ctx, req.params.scope, req.params.name, req.params.version, Buffer.from(JSON.stringify(req.body.bundle)), route.kind);
        return { success: true, package: fullName(r.pkg.scope, r.pkg.name), version: r.version.version, key_id: r.keyId, digest: r.digest };
      },
    });
  }

  app.get('/scopes/:scope/signing', {
    schema: { tags: ['scopes'], summary: "A scope's signing policy: the keys it trusts, whether publishes must be signed", params: ScopeParams, response: { 200: SigningPolicy, ...errorResponses } },
    handler: async (req) => policyView(await registry.signatures.policy(await requestContext(registry, req), req.params.scope)),
  });

  app.put('/scopes/:scope/signing', {
    schema: {
      tags: ['scopes'],
      summary: "Set a scope's trusted keys and whether publishes must be signed (its owners or an administrator; audited)",
      params: ScopeParams,
      body: SigningBody,
      response: { 200: SigningPolicy, ...errorResponses },
    },
    validatorCompiler: strictValidatorCompiler,
    handler: async (req) => policyView(await registry.signatures.setPolicy(await requestContext(registry, req), req.params.scope, req.body)),
  });
};
