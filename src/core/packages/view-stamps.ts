/**
 * A stamp of a package's stored state that changes with every committed write announced for it
 * (`announceChange`). Where several server processes share one store, a cached package view is
 * served only while the stamp it was read under still holds: the store's change feed is
 * asynchronous, and a write that one process acknowledged must show on the next read in every
 * process. `undefined`: no such package.
 */
export interface PackageViewStamps {
  stamp(key: string): Promise<string | undefined>;
}
