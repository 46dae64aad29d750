import type { paths } from './schema';

/** The 200 (or 201) JSON body of an operation, straight from the generated OpenAPI types. */
export type Json<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends { responses: infer R }
  ? R extends { 200: { content: { 'application/json': infer B } } }
    ? B
    : R extends { 201: { content: { 'application/json': infer B } } }
      ? B
      : never
  : never;
