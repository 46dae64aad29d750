/**
 * A record's own value for a key that came from outside (a URL segment, a body field), never one
 * inherited from `Object.prototype`: `tags['constructor']` is the Object function, not a dist-tag.
 */
export const ownValue = <T>(record: Readonly<Record<string, T>>, key: string): T | undefined => (Object.hasOwn(record, key) ? record[key] : undefined);
