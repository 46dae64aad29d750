import type { CoreDeps } from '../core-deps.js';
import type { Visibility } from '../access/visibility.js';
import type { RequestContext } from '../auth/principal.js';
import { createHash } from 'node:crypto';
import { AgentryError, conflict, notFound, unprocessable, validationFailed } from '../errors.js';
import { IDEMPOTENCY_HEADER, IDEMPOTENCY_TTL_MS, parseIdempotencyKey, publishFingerprint } from '../idempotency/idempotency-key.js';
import type { ScopeRecord } from '../accounts/account-repo.js';
import type { NewPackage, NewVersion, PackageRecord, VersionContent, VersionRecord } from './package-repo.js';
import type { PackageService } from './package-service.js';
import type { StorageRepos } from '../storage.js';
import { isoNow } from '../time.js';
import { MANIFEST_FILE, type PackageKind } from './kinds.js';
import { applyVersionMetadata, firstLatest, packageMetadata, queueFirstForSearch, refreshLatest } from './latest.js';
import { checkPublish, type CheckedPublish, type PublishCheck, type PublishCheckInput } from './publish-validation.js';
import { parseManifest } from './manifest/index.js';
import { fullName, parsePackageId } from './names.js';
import { changePackageVisibility } from './package-visibility.js';
import type { TarballLimits } from './tarball.js';
import { singleFileTarball } from './single-file-tarball.js';

export interface PublishInput {
  /** Set by kind-specific doors; absent means "whatever manifest the tarball holds". */
  kind?: PackageKind;
  scope: string;
  name: string;
  tarball: Buffer;
  /** The manifest as the client declared it beside the tarball (agentx's `agent_yaml`); cross-checked. */
  declaredManifest?: { field: string; value: unknown };
  /** The readme as the client declared it; cross-checked against README.md in the tarball. */
  readme?: string;
  /** The version, for kinds whose manifest may not carry one (skills). */
  version?: string;
  /** A dist-tag to point at the new version; `latest` pins it. */
  tag?: string;
  /**
   * The tarball is a PraisonAI `.praison` bundle: its manifest is manifest.json (kind `recipe`), and
   * every file it lists is checked against its sha256. Without this, a recipe tarball that has no
   * recipe.yaml but a manifest.json is read as a bundle too.
   */
  bundle?: boolean;
  /**
   * Republish: when the version already exists (and was not unpublished), replace its content instead
   * of refusing with 409. Only the scope's writers get here (as for any publish); the old and new
   * digests are recorded in the audit log as `package.republish`.
   */
  force?: boolean;
  /**
   * The client's `Idempotency-Key` header, as sent. A retry with the same key, target and bytes gets
   * the original publish back (`replayed`), however often it is sent, for 24 hours; the same key
   * with anything else is a 422. The key is written in the publish's own transaction.
   */
  idempotencyKey?: string | string[];
  /**
   * Who may read the package (`--access`). A first publish takes it (else the scope's default);
   * a later publish that sends it changes the package's visibility (its publisher may administer it).
   */
  access?: Visibility;
  /** A Sigstore bundle signing this version (`publish --sign`): checked before, attached as a referrer after. */
  signature?: Buffer;
}

/** What publishing asks of package signatures (the SignatureService; a port, so packages need not know OCI). */
export interface PublishSigning {
  /**
   * Throws (422, naming why) unless this publish may go ahead: a scope that requires signatures needs a valid one.
   * `scope` is the scope's record as the publish read it (undefined: no such scope, so none is required).
   */
  check(scope: ScopeRecord | undefined, subject: { name: string; version: string; digest: string }, signature: Buffer | undefined): Promise<void>;
  /** Attaches the signature to the version just published. */
  attach(ctx: RequestContext, pkg: PackageRecord, version: VersionRecord, signature: Buffer): Promise<void>;
}

export interface PublishResult {
  pkg: PackageRecord;
  version: VersionRecord;
  /** True when this is an earlier publish, found by its Idempotency-Key, not a new one. */
  replayed?: boolean;
}

/** Thrown inside a publish's transaction when another request committed the same key first. */
class KeyTakenMeanwhile extends Error {}

/** The row of a package's first version: its metadata from the manifest, owned as its scope is. */
export const newPackage = (id: { name: string; key: string }, scope: ScopeRecord, checked: CheckedPublish, visibility: Visibility, now: string): NewPackage => ({
  kind: checked.manifest.kind,
  scope: scope.name,
  name: id.name,
  key: id.key,
  ...packageMetadata(checked.manifest, checked.readme ?? null),
  latestVersion: null,
  latestPinned: false,
  ownerAccountId: scope.ownerAccountId,
  visibility,
  createdAt: now,
  updatedAt: now,
});

/** The row of a checked version whose tarball is stored as `blob`. */
export const newVersion = (packageId: number, checked: CheckedPublish, blob: { digest: string; size: number }, publishedBy: number | null, publishedAt: string): NewVersion => ({
  packageId,
  version: checked.version,
  manifest: checked.manifest.raw,
  findings: checked.findings,
  readme: checked.readme ?? null,
  digest: blob.digest,
  size: blob.size,
  fileCount: checked.contents.fileCount,
  unpackedSize: checked.contents.unpackedSize,
  publishedBy,
  publishedAt,
});

/**
 * The publish path of packages (PackageService.publish): checks, idempotent replay, the store's
 * refusals, republish, and the write itself, through `PackageService.change` like every package write.
 */
export class PackagePublisher {
  constructor(
    private readonly deps: CoreDeps,
    private readonly limits: TarballLimits,
    private readonly packages: Pick<PackageService, 'change' | 'requireLocal'>,
  ) {}

  /** Checked before every publish, from any door, with the publishing account (the rate limiter's publish budget). */
  private publishGate?: (accountId: number) => Promise<void>;

  gatePublishes(gate: (accountId: number) => Promise<void>): void {
    this.publishGate = gate;
  }

  /** Where a publish's tarball is checked (checkPublish: gunzip, untar, manifest, secret scan); this thread unless set. */
  private check: PublishCheck = checkPublish;

  checkPublishesWith(check: PublishCheck): void {
    this.check = check;
  }

  /** The publish check with this server's limits (also what a version taken from an upstream must pass). */
  checkTarball(id: { scope: string; name: string; key: string }, input: PublishCheckInput): Promise<CheckedPublish> {
    return this.check(id, input, this.limits);
  }

  /** Signature checks and storage for every publish (set once the OCI side exists). */
  private signing?: PublishSigning;

  signPublishes(signing: PublishSigning): void {
    this.signing = signing;
  }

  /** Told after every publish: the package was queued for semantic search (core/search). */
  private queued?: () => void;

  queueEmbeddingsWith(queued: () => void): void {
    this.queued = queued;
  }

  async publish(ctx: RequestContext, input: PublishInput): Promise<PublishResult> {
    const id = parsePackageId(input.scope, input.name);
    this.deps.policy.requireWritable();
    const key = parseIdempotencyKey(input.idempotencyKey);
    const writer = await this.deps.policy.requireScopeWriter(ctx, id.scope);
    await this.packages.requireLocal(id.scope);
    const idem =
      key === undefined
        ? undefined
        : {
            accountId: ctx.principal!.account.id,
            key,
            fingerprint: publishFingerprint(
              { key: id.key, kind: input.kind, version: input.version, tag: input.tag, force: input.force === true, bundle: input.bundle === true, access: input.access },
              input.tarball,
            ),
          };
    // A retry of a publish that already happened answers as it did, before any budget or check.
    if (idem) {
      const earlier = await this.replay(idem);
      if (earlier) return earlier;
      await this.forgetExpiredKeys();
    }
    await this.publishGate?.(writer.principal.account.id);
    const checked = await this.check(id, input, this.limits);
    const { contents, manifest, version, readme, tag, findings } = checked;

    const digest = `sha256:${createHash('sha256').update(contents.tarball).digest('hex')}`;
    // The scope read once, by the access check (else here), for the signature check and the store's
    // refusals below (which read it again only for a package kept under another scope).
    const scopeRead = writer.read ? writer.read.record : await this.deps.storage.scopes.find(id.scope);
    await this.signing?.check(scopeRead, { name: fullName(id.scope, id.name), version, digest }, input.signature);
    // The scope's owner owns the package: a publish about an owner without webhooks queries nothing for them.
    let scopeRecord: ScopeRecord;
    try {
      scopeRecord = (await this.refuseUnpublishable(this.deps.storage, id, manifest.kind, version, false, input.force, digest, scopeRead)).scope;
    } catch (e) {
      // A concurrent retry with the same key may have committed since the replay check above: its answer is this one's.
      const earlier = idem && (await this.replay(idem));
      if (earlier) return earlier;
      throw e;
    }
    const blob = await this.deps.blobs.put(contents.tarball);
    const principal = ctx.principal!;
    let published: { pkgId: number; record: VersionRecord; pkg?: PackageRecord };
    try {
      published = await this.packages.change({ key: id.key, ownerAccountId: scopeRecord.ownerAccountId }, async (tx) => {
        const now = isoNow(this.deps.clock);
        // The scope as read just before (no lock on it either way): not read again.
        let { pkg, scope, existing } = await this.refuseUnpublishable(tx, id, manifest.kind, version, true, input.force, blob.digest, scopeRecord);
        const remember = async (packageId: number, v: string): Promise<void> => {
          if (!idem) return;
          const at = this.deps.clock.now().getTime();
          const saved = await tx.idempotency.insert({
            ...idem,
            packageId,
            version: v,
            createdAt: new Date(at).toISOString(),
            expiresAt: new Date(at + IDEMPOTENCY_TTL_MS).toISOString(),
          });
          if (!saved) throw new KeyTakenMeanwhile();
        };
        if (pkg && input.access !== undefined) await changePackageVisibility(tx, this.deps.audit, ctx, pkg, input.access, { via: 'publish' });
        if (pkg && existing) {
          const record = await this.republish(tx, ctx, pkg, existing, {
            manifest: manifest.raw,
            findings,
            readme: readme ?? null,
            digest: blob.digest,
            size: blob.size,
            fileCount: contents.fileCount,
            unpackedSize: contents.unpackedSize,
            publishedBy: principal.account.id,
            publishedAt: now,
          });
          await remember(pkg.id, record.version);
          return { pkgId: pkg.id, record };
        }
        let created = false;
        if (!pkg) {
          // A first publish: the row is inserted with the `latest` its only version gives it, so
          // it is written once (refreshLatest would update it right after).
          const first = firstLatest(manifest.kind, { version, publishedAt: now }, tag === 'latest' ? version : undefined);
          const made = await tx.packages.insert({ ...newPackage(id, scope, checked, input.access ?? scope.defaultVisibility, now), ...first });
          // A package this transaction created holds no version yet. A concurrent first publish may
          // have created it (and this version) first: check again what it holds.
          created = made.created;
          pkg = made.created ? made.pkg : (await this.refuseUnpublishable(tx, id, manifest.kind, version, true, false, blob.digest, scopeRecord)).pkg!;
        }
        const record = await tx.packages.insertVersion(newVersion(pkg.id, checked, blob, principal.account.id, now));
        if (tag && tag !== 'latest') await tx.packages.setDistTag(pkg.id, tag, record.version);
        if (created) await queueFirstForSearch(tx, pkg);
        else await refreshLatest(tx, pkg, tag === 'latest' ? record.version : undefined, { record, manifest }, { updatedAt: now });
        await this.deps.audit.record(tx.audit, ctx, 'package.publish', `${fullName(pkg.scope, pkg.name)}@${record.version}`, {
          kind: manifest.kind,
          digest: blob.digest,
          size: blob.size,
          ...(contents.strippedModes.length > 0 ? { stripped_special_modes: contents.strippedModes.slice(0, 20) } : {}),
        });
        await remember(pkg.id, record.version);
        // The row this transaction created is the package as committed: nothing to read back.
        return { pkgId: pkg.id, record, ...(created ? { pkg } : {}) };
      });
    } catch (e) {
      // A refusal only the transaction could see (a lost race): take back the blob if this publish
      // created it and no version refers to it. A concurrent publish of the very same bytes is the
      // same package and version, so it either committed first (the blob is referenced) or fails too.
      if (blob.created && !(await this.deps.storage.blobRefs.isReferenced(blob.digest))) await this.deps.blobs.delete(blob.digest);
      // A concurrent retry with the same key committed first (this one then lost on the version or
      // the key): that publish is this one's answer.
      const earlier = idem && (await this.replay(idem));
      if (earlier) return earlier;
      if (e instanceof KeyTakenMeanwhile) throw conflict(`Another request with this ${IDEMPOTENCY_HEADER} is in progress; retry it`);
      throw e;
    }
    // Its vector is computed off the request path (the package was queued in the transaction).
    this.queued?.();
    const pkg = published.pkg ?? (await this.deps.storage.packages.findById(published.pkgId))!;
    if (input.signature && this.signing) await this.signing.attach(ctx, pkg, published.record, input.signature);
    return { pkg, version: published.record };
  }

  /**
   * The publish remembered under this key, as it was answered; a 422 when the key was used for
   * another target or other bytes. Undefined when the key is new (or expired).
   */
  private async replay(idem: { accountId: number; key: string; fingerprint: string }): Promise<PublishResult | undefined> {
    const found = await this.deps.storage.idempotency.find(idem.accountId, idem.key, isoNow(this.deps.clock));
    if (!found) return undefined;
    if (found.fingerprint !== idem.fingerprint) {
      throw unprocessable(`This ${IDEMPOTENCY_HEADER} was already used for a different publish`, [
        `${IDEMPOTENCY_HEADER}: a retry must send the same package, version and bytes; use a new key for a new publish`,
      ]);
    }
    const pkg = await this.deps.storage.packages.findById(found.packageId);
    const version = pkg && (await this.deps.storage.packages.findVersion(pkg.id, found.version));
    if (!pkg || !version) throw new AgentryError('not_found', 'The publish this key recorded no longer exists');
    return { pkg, version, replayed: true };
  }

  private lastKeySweep = 0;

  /** Drops expired Idempotency-Key records, at most once a minute per process. */
  private async forgetExpiredKeys(): Promise<void> {
    const now = this.deps.clock.now().getTime();
    if (now - this.lastKeySweep < 60_000) return;
    this.lastKeySweep = now;
    await this.deps.storage.idempotency.deleteExpired(new Date(now).toISOString());
  }

  /**
   * Refuses a publish the store's state forbids: the name taken by another kind, the version
   * taken or unpublished (409), no such scope (404). Checked before the blob is written, so a
   * refused publish writes nothing, and again inside the transaction (`lock`), so a race cannot pass.
   */
  private async refuseUnpublishable(
    repos: StorageRepos,
    id: { scope: string; name: string; key: string },
    kind: PackageKind,
    version: string,
    lock = false,
    force = false,
    digest?: string,
    /** The scope as this publish already read it: used when it is the package's scope. */
    known?: ScopeRecord,
  ): Promise<{ pkg: PackageRecord | undefined; scope: ScopeRecord; existing?: VersionRecord }> {
    const pkg = lock ? await repos.packages.lockByKey(id.key) : await repos.packages.findByKey(id.key);
    const scopeName = pkg?.scope ?? id.scope;
    const scope = known?.name === scopeName ? known : await repos.scopes.find(scopeName);
    if (!scope) throw notFound(`Scope @${id.scope} does not exist; create the user or organisation first`);
    if (!pkg) return { pkg, scope };
    if (pkg.kind !== kind) throw conflict(`${fullName(pkg.scope, pkg.name)} is a package of kind '${pkg.kind}', not '${kind}'`);
    const existing = await repos.packages.findVersion(pkg.id, version);
    if (existing?.unpublishedAt) {
      throw conflict(`Version ${version} of ${fullName(pkg.scope, pkg.name)} was unpublished and can never be reused. Bump the version number.`);
    }
    if (existing && force) return { pkg, scope, existing };
    if (existing) {
      // Say whether the bytes are the live version's, so a client retrying without a key can tell.
      throw conflict(`Version ${version} already exists. Bump the version number.`, {
        existing: {
          version: existing.version,
          sha256: existing.digest.replace(/^sha256:/, ''),
          ...(digest ? { identical: digest === existing.digest } : {}),
        },
      });
    }
    return { pkg, scope };
  }

  /**
   * A forced publish over a live version: the version keeps its identity (id, download counts,
   * dist-tags) and takes the new content; the package's metadata follows it when it is `latest`.
   * The previous bytes stay in the blob store until `gc` finds nothing refers to them.
   */
  private async republish(tx: StorageRepos, ctx: RequestContext, pkg: PackageRecord, existing: VersionRecord, content: VersionContent): Promise<VersionRecord> {
    await tx.packages.replaceVersionContent(existing.id, content);
    const record: VersionRecord = { ...existing, ...content };
    if (pkg.latestVersion === existing.version) await applyVersionMetadata(tx, pkg.id, pkg.kind, record);
    await tx.packages.update(pkg.id, { updatedAt: content.publishedAt });
    await this.deps.audit.record(tx.audit, ctx, 'package.republish', `${fullName(pkg.scope, pkg.name)}@${existing.version}`, {
      kind: pkg.kind,
      digest: content.digest,
      previous_digest: existing.digest,
      size: content.size,
    });
    return record;
  }

  /**
   * Publishes a package from its manifest alone (a bare server.json): the manifest is validated
   * first, the scope and name it declares say where it goes, and the core packs it as the
   * package's only file. From there on it is an ordinary `publish`.
   */
  async publishManifest(ctx: RequestContext, kind: PackageKind, text: string, idempotencyKey?: string | string[]): Promise<PublishResult> {
    this.deps.policy.requireWritable();
    this.deps.policy.requirePermission(ctx, 'publish');
    const result = parseManifest(kind, text);
    if (!result.manifest) throw validationFailed(result.problems);
    const m = result.manifest;
    if (m.scope === null) throw validationFailed([`${m.file}: the manifest does not say which scope it belongs to`]);
    return this.publish(ctx, { kind, scope: m.scope, name: m.name, tarball: singleFileTarball(MANIFEST_FILE[kind], text), idempotencyKey });
  }
}
