import type { FastifyRequest } from 'fastify';

/**
 * Whether a GET's `If-None-Match` names `etag` (a quoted entity tag, compared weakly as RFC 9110
 * §13.1.2 asks of If-None-Match) or is `*`: the caller's copy is current and a 304 may answer.
 * Ask only after the access rule let the caller read the thing the tag belongs to.
 */
export const notModified = (request: FastifyRequest, etag: string): boolean => {
  const inm = request.headers['if-none-match'];
  if (typeof inm !== 'string') return false;
  const strong = etag.replace(/^W\//, '');
  return inm.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag.replace(/^W\//, '') === strong;
  });
};
