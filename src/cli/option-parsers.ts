import { InvalidArgumentError } from 'commander';

/** Commander parser for options that take a whole number of at least `min`. */
export const wholeNumber =
  (min = 1) =>
  (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`expected a whole number of at least ${min}`);
    return n;
  };
