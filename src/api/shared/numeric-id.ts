import { Type } from 'typebox';
import { notFound } from '../../core/errors.js';
import { isStoredId } from '../../core/ids.js';

/**
 * A numeric id in a path (`/api/v1/tokens/:id`): digits only, no sign, no leading zero, no
 * decimal point or exponent, at most 16 digits. Kept a string in the schema so that the
 * validator never coerces `1.0`, `01`, `1e0` or ` 1` into the id 1.
 */
export const NUMERIC_ID_PATTERN = '^[1-9][0-9]{0,15}$';

export const NumericId = (description = 'A numeric id: digits only, no leading zero') => Type.String({ pattern: NUMERIC_ID_PATTERN, minLength: 1, maxLength: 16, description });

/** The number of a path id already checked by `NumericId`; one no row can have is a 404 naming `what`. */
export const pathId = (raw: string, what: string): number => {
  if (!new RegExp(NUMERIC_ID_PATTERN).test(raw)) throw notFound(`${what} ${raw.slice(0, 20)} not found`);
  const id = Number(raw);
  if (!isStoredId(id)) throw notFound(`${what} ${raw} not found`);
  return id;
};
