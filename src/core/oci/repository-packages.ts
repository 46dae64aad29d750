import { ownValue } from '../own-value.js';
import type { PackageRecord, VersionRecord } from '../packages/package-repo.js';
import type { StorageRepos } from '../storage.js';
import { packageArtifact, type PackageArtifact } from './package-artifacts.js';
import type { RepositoryName } from './references.js';

/**
 * Packages seen as OCI repositories: the package a repository name is, its versions and dist-tags
 * as tags, and each version as an artifact (package-artifacts.ts).
 */
export class RepositoryPackages {
  constructor(private readonly storage: Pick<StorageRepos, 'packages' | 'oci'>) {}

  /** The package a repository name is, if any. */
  async of(repo: RepositoryName): Promise<PackageRecord | undefined> {
    return repo.packageName ? this.storage.packages.findByKey(repo.packageName) : undefined;
  }

  /** The package's live versions (none for a repository that is no package). */
  async versions(repo: RepositoryName): Promise<VersionRecord[]> {
    const pkg = await this.of(repo);
    return pkg ? this.storage.packages.listVersions(pkg.id, false) : [];
  }

  /** The package's dist-tags, `latest` included. */
  async distTags(pkg: PackageRecord): Promise<Record<string, string>> {
    const tags = await this.storage.packages.distTags(pkg.id);
    return pkg.latestVersion ? { latest: pkg.latestVersion, ...tags } : tags;
  }

  /** The artifact of a package version named by version, dist-tag or artifact digest. */
  async artifactFor(repo: RepositoryName, reference: string): Promise<PackageArtifact | undefined> {
    const pkg = await this.of(repo);
    if (!pkg) return undefined;
    const versions = await this.storage.packages.listVersions(pkg.id, false);
    if (reference.includes(':')) {
      for (const v of versions) {
        const a = packageArtifact(pkg, v);
        if (a.digest === reference) return a;
      }
      return undefined;
    }
    const wanted = ownValue(await this.distTags(pkg), reference) ?? reference;
    const v = versions.find((x) => x.version === wanted);
    return v && packageArtifact(pkg, v);
  }

  /** A repository this registry knows: a package, or one pushed to. */
  async known(repo: RepositoryName): Promise<boolean> {
    return (await this.of(repo)) !== undefined || (await this.storage.oci.repositoryExists(repo.name));
  }
}
