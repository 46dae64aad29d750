/** One page of a list, with how many rows the whole list holds. */

export interface Page<T> {
  rows: T[];
  total: number;
}
