import type { Ajv } from 'ajv';

/**
 * Ajv keyword `binaryFile`: the value must be an uploaded file (a Buffer, as @fastify/multipart
 * attaches it). The schema itself is left untouched (schemas are shared by every server in a
 * process); `documentBinaryFiles` rewrites it to `{type: string, format: binary}` in OpenAPI.
 */
export const binaryFileKeyword = (ajv: Ajv): Ajv =>
  ajv.addKeyword({
    keyword: 'binaryFile',
    schemaType: 'boolean',
    validate: (_schema: boolean, value: unknown) => Buffer.isBuffer(value),
    error: { message: 'must be an uploaded file' },
  });

/** Replaces every `binaryFile: true` in a generated OpenAPI document by a binary string. */
export const documentBinaryFiles = <T>(node: T): T => {
  if (Array.isArray(node)) return node.map(documentBinaryFiles) as T;
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'binaryFile') {
      out.type = 'string';
      out.format = 'binary';
    } else out[k] = documentBinaryFiles(v);
  }
  return out as T;
};
