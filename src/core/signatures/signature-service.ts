import type { KeyObject } from 'node:crypto';
import type { RequestContext } from '../auth/principal.js';
import type { CoreDeps } from '../core-deps.js';
import type { ScopeRecord, ScopeSigning } from '../accounts/account-repo.js';
import { AgentryError, badRequest } from '../errors.js';
import type { ScopeService } from '../accounts/scope-service.js';
import type { PackageKind } from '../packages/kinds.js';
import { fullName } from '../packages/names.js';
import type { PackageRecord, VersionRecord } from '../packages/package-repo.js';
import type { PackageService } from '../packages/package-service.js';
import type { PublishSigning } from '../packages/package-publisher.js';
import type { OciService } from '../oci/oci-service.js';
import { MAX_BUNDLE_BYTES, SIGSTORE_BUNDLE_MEDIA_TYPE, keyIdOf, parseSignature, publicKeyFromPem, requireSubject, verifySignature, type SignedSubject } from './package-signature.js';

/** At most this many keys a scope trusts. */
export const MAX_SCOPE_KEYS = 20;

/** One signature of a version, as the API shows it. */
export interface VersionSignature {
  /** The digest of the referrer manifest carrying it. */
  digest: string;
  /** The id of the key it names (its public-key hint); null for a bundle that is not a package signature. */
  keyId: string | null;
  /** Whether it verifies with a key the scope trusts; null when the scope trusts none. */
  trusted: boolean | null;
  bundle: Record<string, unknown>;
}

const jsonObject = (bytes: Buffer): Record<string, unknown> | undefined => {
  try {
    const v: unknown = JSON.parse(bytes.toString());
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};

const verifies = (bundle: Buffer, subject: SignedSubject, trusted: KeyObject[]): boolean => {
  try {
    verifySignature(bundle, subject, trusted);
    return true;
  } catch {
    return false;
  }
};

/** The OCI referrer that carries a signature (as cosign stores bundles). */
const referrerOf = (bundle: Buffer, keyId: string) => ({
  artifactType: SIGSTORE_BUNDLE_MEDIA_TYPE,
  layer: bundle,
  annotations: { 'dev.sigstore.bundle.content': 'dsse-envelope', 'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1', 'dev.agentry.signature.key-id': keyId },
});

const subjectOf = (pkg: PackageRecord, v: VersionRecord): SignedSubject => ({ name: fullName(pkg.scope, pkg.name), version: v.version, digest: v.digest });

/**
 * Signed packages: a scope's signing policy (the keys it trusts, whether publishes must be signed),
 * the check every publish goes through, and signatures attached to versions as OCI referrers
 * (Sigstore bundles, `application/vnd.dev.sigstore.bundle.v0.3+json`) of the version's artifact.
 */
export class SignatureService implements PublishSigning {
  constructor(
    private readonly deps: CoreDeps,
    private readonly packages: PackageService,
    private readonly oci: OciService,
    private readonly scopes: ScopeService,
  ) {}

  /** A scope's signing policy: anyone who may see the scope (`agentry scope signing get`). */
  async policy(ctx: RequestContext, scope: string): Promise<ScopeRecord> {
    return this.scopes.access(ctx, scope);
  }

  /** Sets a scope's trusted keys and whether publishes must be signed: its owners or an administrator; audited. */
  async setPolicy(ctx: RequestContext, scope: string, signing: ScopeSigning): Promise<ScopeRecord> {
    const record = await this.policy(ctx, scope);
    this.deps.policy.requireWritable();
    await this.deps.policy.requireScopeAdmin(ctx, record.name);
    if (signing.keys.length > MAX_SCOPE_KEYS) throw badRequest(`A scope trusts at most ${MAX_SCOPE_KEYS} keys`);
    const keys = signing.keys.map((pem, i) => {
      try {
        return { pem: pem.trim() + '\n', id: keyIdOf(publicKeyFromPem(pem, `keys[${i}]`)) };
      } catch (e) {
        throw badRequest('Invalid signing key', [e instanceof Error ? e.message : String(e)]);
      }
    });
    if (signing.required && keys.length === 0) throw badRequest('A scope that requires signatures needs at least one trusted key');
    const next: ScopeSigning = { required: signing.required, keys: keys.map((k) => k.pem) };
    await this.deps.storage.transaction(async (tx) => {
      await tx.scopes.setSigning(record.name, next);
      await this.deps.audit.record(tx.audit, ctx, 'scope.signing', `@${record.name}`, { required: next.required, keys: keys.map((k) => k.id) });
    });
    return { ...record, signing: next };
  }

  /** The signatures attached to a version (any reader of the package). */
  async list(ctx: RequestContext, scope: string, name: string, versionOrTag: string, kind?: PackageKind): Promise<{ pkg: PackageRecord; version: VersionRecord; signatures: VersionSignature[] }> {
    const { pkg, version } = await this.packages.getVersion(ctx, scope, name, versionOrTag, { kind });
    // Taken from an upstream: signatures attached there since it was fetched are copied first (once a TTL).
    await this.packages.refreshMirroredSignatures(ctx, pkg, version);
    const trusted = await this.trustedKeys(pkg.scope);
    const layers = await this.oci.versionReferrerLayers(pkg, version, SIGSTORE_BUNDLE_MEDIA_TYPE, MAX_BUNDLE_BYTES);
    const signatures: VersionSignature[] = [];
    for (const { digest, layer } of layers) {
      const bundle = jsonObject(layer);
      // A referrer of this type pushed through /v2/ may hold anything: only JSON objects are shown.
      if (!bundle) continue;
      let keyId: string | null = null;
      let trust: boolean | null = trusted.length > 0 ? false : null;
      try {
        keyId = parseSignature(layer).keyId;
        if (trusted.length > 0) trust = verifies(layer, subjectOf(pkg, version), trusted);
      } catch {
        /* not a package signature: no key id */
      }
      signatures.push({ digest, keyId, trusted: trust, bundle });
    }
    return { pkg, version, signatures };
  }

  /**
   * Attaches a signature to a published version (`agentry sign`): the scope's writers only. It must
   * name this version and its tarball; when the scope trusts keys, it must verify with one of them.
   */
  async sign(
    ctx: RequestContext,
    scope: string,
    name: string,
    versionOrTag: string,
    bundle: Buffer,
    kind?: PackageKind,
  ): Promise<{ pkg: PackageRecord; version: VersionRecord; keyId: string; digest: string }> {
    this.deps.policy.requireWritable();
    const { pkg, version } = await this.packages.getVersion(ctx, scope, name, versionOrTag, { kind });
    await this.deps.policy.requireScopeWrite(ctx, pkg.scope);
    await this.packages.requireLocal(pkg.scope);
    const keyId = await this.checkAgainstScope(pkg.scope, subjectOf(pkg, version), bundle);
    const pushed = await this.store(ctx, pkg, version, bundle);
    return { pkg, version, keyId, digest: pushed };
  }

  async check(scope: ScopeRecord | undefined, subject: SignedSubject, signature: Buffer | undefined): Promise<void> {
    if (signature === undefined) {
      if (scope?.signing.required) {
        throw new AgentryError('unprocessable', `@${scope.name} requires signed packages: publish with --sign --key <private key> (a key the scope trusts)`);
      }
      return;
    }
    verifiedKeyId(scope, subject, signature);
  }

  async attach(ctx: RequestContext, pkg: PackageRecord, version: VersionRecord, signature: Buffer): Promise<void> {
    await this.store(ctx, pkg, version, signature);
  }

  private async store(ctx: RequestContext, pkg: PackageRecord, version: VersionRecord, bundle: Buffer): Promise<string> {
    const pushed = await this.oci.attachToVersion(ctx, pkg, version, referrerOf(bundle, parseSignature(bundle).keyId));
    return pushed.digest;
  }

  /**
   * Copies a signature of a version fetched from an upstream (core/mirrors), as it came: it is only
   * checked to be a package signature (a bundle naming a key); whether it signs this version and
   * these bytes is for the puller to verify with the keys it trusts (`agentry pull --verify`), so a
   * signature of other bytes travels and fails there, saying why. `refused` when it was not a package
   * signature, `present` when it was copied before.
   */
  async copyMirrored(pkg: PackageRecord, version: VersionRecord, bundle: Buffer): Promise<'added' | 'present' | 'refused'> {
    let keyId: string;
    try {
      keyId = parseSignature(bundle).keyId;
    } catch {
      return 'refused';
    }
    const existing = await this.oci.versionReferrerLayers(pkg, version, SIGSTORE_BUNDLE_MEDIA_TYPE, MAX_BUNDLE_BYTES);
    if (existing.some((e) => e.layer.equals(bundle))) return 'present';
    await this.oci.attachMirroredReferrer(pkg, version, referrerOf(bundle, keyId));
    return 'added';
  }

  /** The key id of a signature of `subject`, verified with the scope's keys when it trusts any (else only its subject is checked). */
  private async checkAgainstScope(scope: string, subject: SignedSubject, bundle: Buffer): Promise<string> {
    return verifiedKeyId(await this.deps.storage.scopes.find(scope), subject, bundle);
  }

  private async trustedKeys(scope: string): Promise<KeyObject[]> {
    return trustedKeysOf(await this.deps.storage.scopes.find(scope));
  }
}

const trustedKeysOf = (scope: ScopeRecord | undefined): KeyObject[] => (scope?.signing.keys ?? []).map((pem) => publicKeyFromPem(pem));

/** The key id of a signature of `subject`, verified with the keys `scope` trusts when it trusts any (else only its subject is checked). */
const verifiedKeyId = (scope: ScopeRecord | undefined, subject: SignedSubject, bundle: Buffer): string => {
  const trusted = trustedKeysOf(scope);
  if (trusted.length > 0) return verifySignature(bundle, subject, trusted).keyId;
  const parsed = parseSignature(bundle);
  requireSubject(parsed, subject);
  return parsed.keyId;
};
