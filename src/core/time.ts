/** A clock the core reads time from, so tests and storage agree on one format (ISO-8601 UTC). */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export const isoNow = (clock: Clock): string => clock.now().toISOString();

/** `YYYY-MM-DD` of a date in UTC, the key of per-day counters. */
export const utcDay = (d: Date): string => d.toISOString().slice(0, 10);
