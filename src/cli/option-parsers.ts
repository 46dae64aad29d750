import { InvalidArgumentError } from 'commander';

/** Commander parser for options that take a whole number of at least `min`. */
export const wholeNumber =
  (min = 1) =>
  (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`expected a whole number of at least ${min}`);
    return n;
  };

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Commander parser for a duration (`90`, `90s`, `5m`, `2h`, `1d`), answered in whole seconds of at least 1. */
export const durationSeconds = (value: string): number => {
  const m = /^(\d+)([smhd]?)$/.exec(value.trim());
  const n = m ? Number(m[1]) * UNIT_SECONDS[m[2] || 's'] : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a duration such as 90s, 5m, 2h or 1d');
  return n;
};
