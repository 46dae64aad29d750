import type { FastifyRequest } from 'fastify';

/**
 * Which shapes a caller reads. Seed 001 (the documentation of `praisonai registry serve`) is the
 * contract: search answers a bare list and checksums read `sha256:<hex>`. PraisonAI's own Python
 * client (`praisonai recipe search|pull --registry …`, its HttpRegistry class) was written against
 * the server's code, which differs from that document in two places it depends on:
 *   - search: it reads `results` from an object (`{ok, query, results, count}`), and fails on a list;
 *   - pull: it compares the version's `checksum` with the bundle's sha256 in bare hex, and deletes
 *     the download as corrupt when they differ.
 * That client is recognised by the User-Agent Python's urllib sends (`Python-urllib/3.x`), which
 * it never overrides, and gets those two shapes; every other caller gets the documented ones.
 */
export type ClientDialect = 'documented' | 'praisonai-client';

export const clientDialect = (request: FastifyRequest): ClientDialect => {
  const ua = request.headers['user-agent'];
  return typeof ua === 'string' && /^Python-urllib\//.test(ua) ? 'praisonai-client' : 'documented';
};

/** A bundle checksum as the caller reads it: `sha256:<hex>`, or bare hex for praisonai's client. */
export const checksumFor = (dialect: ClientDialect, digest: string): string => (dialect === 'praisonai-client' ? digest.replace(/^sha256:/, '') : digest);
