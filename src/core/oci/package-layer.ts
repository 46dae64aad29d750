import type { CoreDeps } from '../core-deps.js';
import { isAgentryError } from '../errors.js';
import { isPackageKind } from '../packages/kinds.js';
import { isStrictSemver } from '../packages/manifest/fields.js';
import type { PackageService } from '../packages/package-service.js';
import type { OciContext } from './access.js';
import type { ParsedManifest } from './manifest.js';
import { AGENTRY_PACKAGE_LAYER, OCI_MANIFEST, kindOfArtifactType } from './media-types.js';
import { ociError } from './oci-errors.js';
import type { RepositoryName } from './references.js';
import type { RepositoryPackages } from './repository-packages.js';

export interface PackageLayerDeps {
  storage: CoreDeps['storage'];
  blobs: CoreDeps['blobs'];
  packages: PackageService;
  repositories: RepositoryPackages;
  /** Largest package layer that is published as a package version. */
  maxPackageBytes: number;
}

/**
 * An image manifest with one Agentry package layer, pushed under a semver tag to a repository
 * that can be a package, becomes that version of the package (the rules of every publish apply).
 * A layer that is not a valid package leaves the artifact as plain OCI content.
 */
export const publishPackageLayer = async (deps: PackageLayerDeps, ctx: OciContext, repo: RepositoryName, parsed: ParsedManifest, tags: string[]): Promise<string | null> => {
  const layers = parsed.layers.filter((l) => l.mediaType === AGENTRY_PACKAGE_LAYER);
  const layer = parsed.mediaType === OCI_MANIFEST && layers.length === 1 ? layers[0] : undefined;
  const pkg = await deps.repositories.of(repo);
  // A tag that names a published version is that version: only its own tarball may sit there.
  for (const tag of tags.filter((t) => isStrictSemver(t))) {
    const existing = pkg && (await deps.storage.packages.findVersion(pkg.id, tag));
    if (existing && !(layer && existing.digest === layer.digest && !existing.unpublishedAt)) {
      throw ociError('DENIED', `Version ${tag} of ${repo.name} was already published${existing.unpublishedAt ? ' and unpublished' : ''} with other content; versions are immutable`, {
        version: tag,
      });
    }
  }
  const version = tags.find((t) => isStrictSemver(t));
  if (!layer || !version || !repo.packageName) return null;
  const [scope, name] = repo.packageName.split('/');
  if (pkg && (await deps.storage.packages.findVersion(pkg.id, version))) return null;
  if (layer.size > deps.maxPackageBytes) return null;
  const kind = kindOfArtifactType(parsed.artifactType ?? undefined);
  try {
    const published = await deps.packages.publish(ctx, {
      scope,
      name,
      tarball: await deps.blobs.read(layer.digest),
      version,
      ...(kind && isPackageKind(kind) ? { kind } : {}),
    });
    return `@${published.pkg.scope}/${published.pkg.name}@${published.version.version}`;
  } catch (e) {
    if (isAgentryError(e) && (e.code === 'validation_failed' || e.code === 'bad_request')) return null;
    if (isAgentryError(e) && e.code === 'conflict') {
      // A concurrent push of these very bytes (a retry racing its lost first attempt) published
      // this version first: that is this push's success, not a conflict.
      const now = await deps.repositories.of(repo);
      const live = now && (await deps.storage.packages.findVersion(now.id, version));
      if (live && !live.unpublishedAt && live.digest === layer.digest) return null;
      throw ociError('DENIED', e.message, { version });
    }
    throw e;
  }
};
