/** The PostgreSQL NOTIFY channel on which writers announce changed packages. */
export const CHANGE_CHANNEL = 'agentry_package_change';

/** Where a store learns that another process changed a package (see Storage.onPackageChange). */
export interface ChangeFeed {
  listen(listener: (key: string | undefined) => void): Promise<void>;
  close(): Promise<void>;
}
