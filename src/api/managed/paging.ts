import { Type, type TSchema } from 'typebox';
import { pageLimit, type Paged, type PageRequest } from '../../core/managed/page-token.js';

/** List query parameters: `limit` and the page token, as the SDK's `page` or 002's `cursor`. */
export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Items per page (default 20)' })),
  page: Type.Optional(Type.String({ maxLength: 500, description: 'The next_page token of a previous answer' })),
  cursor: Type.Optional(Type.String({ maxLength: 500, description: "002's name for the page token" })),
};

export const pageRequest = (q: { limit?: number; page?: string; cursor?: string }): PageRequest & { limit: number } => ({
  limit: pageLimit(q.limit),
  page: q.page || q.cursor || undefined,
});

/** `{data, next_page, has_more}`: next_page is null on the last page. */
export const ListOf = <T extends TSchema>(item: T) => Type.Object({ data: Type.Array(item), next_page: Type.Union([Type.String(), Type.Null()]), has_more: Type.Boolean() });

export const listBody = <R, V>(page: Paged<R>, shape: (r: R) => V): { data: V[]; next_page: string | null; has_more: boolean } => ({
  data: page.rows.map(shape),
  next_page: page.nextPage,
  has_more: page.nextPage !== null,
});
