import type { Visibility } from '../access/visibility.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { RequestContext } from '../auth/principal.js';
import type { StorageRepos } from '../storage.js';
import { fullName } from './names.js';
import type { PackageRecord } from './package-repo.js';

/**
 * Gives a package (locked in `tx`) another visibility, audited as `package.access` with where it came
 * from (`details`: how, e.g. `via: 'publish'`); nothing when it already has that one. Whether it changed.
 */
export const changePackageVisibility = async (
  tx: StorageRepos,
  audit: AuditLog,
  ctx: RequestContext,
  pkg: PackageRecord,
  visibility: Visibility,
  details: Record<string, unknown> = {},
): Promise<boolean> => {
  if (pkg.visibility === visibility) return false;
  await tx.packages.setVisibility(pkg.id, visibility);
  await audit.record(tx.audit, ctx, 'package.access', fullName(pkg.scope, pkg.name), { from: pkg.visibility, to: visibility, ...details });
  return true;
};
