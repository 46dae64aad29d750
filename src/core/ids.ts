/** The largest row id a store holds: ids are 32-bit serials on PostgreSQL. */
export const MAX_STORED_ID = 2_147_483_647;

/** True when `id` could be a row id; anything else is never looked up (no SQL error on PostgreSQL). */
export const isStoredId = (id: number): boolean => Number.isSafeInteger(id) && id >= 1 && id <= MAX_STORED_ID;
