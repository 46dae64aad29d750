import type { NewPackage } from '../../src/core/packages/package-repo.js';

/** A published package row for storage tests: what a test names, the rest empty (public, version 1.0.0). */
export const packageRow = (p: Pick<NewPackage, 'kind' | 'scope' | 'name' | 'key' | 'description' | 'ownerAccountId' | 'createdAt' | 'updatedAt'> & Partial<NewPackage>): NewPackage => ({
  readme: null,
  category: null,
  tags: [],
  license: null,
  repository: null,
  homepage: null,
  latestVersion: '1.0.0',
  latestPinned: false,
  visibility: 'public',
  ...p,
});
