import type { NewManagedObject } from './managed-storage.js';

/** What a new object states itself; everything else starts empty. */
export type NewManagedObjectFields = Pick<NewManagedObject, 'id' | 'kind' | 'accountId' | 'data'> & Partial<Pick<NewManagedObject, 'parentId' | 'refId' | 'name' | 'digest' | 'version' | 'expiresAt'>>;

/**
 * A new managed object's record, made `at` (an ISO time): no parent, reference, name or blob, revision 0,
 * not archived and not expiring unless the fields say otherwise.
 */
export function newManagedObject(fields: NewManagedObjectFields, at: string): NewManagedObject {
  return { parentId: null, refId: null, name: null, digest: null, version: 0, expiresAt: null, ...fields, archivedAt: null, createdAt: at, updatedAt: at };
}
