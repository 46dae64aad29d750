/** One page of a list, with how many rows the whole list holds. */

export interface Page<T> {
  rows: T[];
  total: number;
  /** True when `total` is an estimate (a broad relevance search counts its matches only up to a bound). */
  estimated?: boolean;
}
