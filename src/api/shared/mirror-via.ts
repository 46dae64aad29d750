import type { FastifyRequest } from 'fastify';
import { MIRROR_VIA_HEADER, parseMirrorVia } from '../../core/mirrors/mirror-via.js';

/** The servers an upstream lookup passed through (`X-Agentry-Mirror-Via`), for the request's context; nothing when the header is absent. */
export const mirrorViaOf = (request: FastifyRequest): { mirrorVia?: readonly string[] } => {
  const header = request.headers[MIRROR_VIA_HEADER];
  return header === undefined ? {} : { mirrorVia: parseMirrorVia(header) };
};
