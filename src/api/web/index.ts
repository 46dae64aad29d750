import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';

export interface WebConsoleOptions {
  /** The built console (`dist/console`: index.html, assets/ with their .br and .gz siblings). */
  root: string;
}

/** Hashed file names never change content: a year, immutable. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** The page itself is checked on every load, so a new build is picked up at once. */
const REVALIDATE = 'no-cache';

const cacheControlFor = (path: string): string => (/[\\/]assets[\\/]/.test(path) ? IMMUTABLE : /\.html(\.br|\.gz)?$/.test(path) ? REVALIDATE : 'public, max-age=3600');

/** Whether the console was built (it is at install: `npm run build:web`). */
export const consoleBuilt = (root: string): boolean => existsSync(join(root, 'index.html'));

/**
 * The web console: the files Vite built, served at `/` with caching headers (hashed assets immutable,
 * index.html revalidated) and compressed (the build writes .br and .gz siblings; the client's
 * Accept-Encoding picks one). Only the files that exist get routes (no wildcard route), so every API
 * path keeps its door's own 404; client-side routes get index.html from `sendConsolePage`, which
 * the root not-found handler calls for browser navigations to non-API paths.
 */
const webConsolePlugin: FastifyPluginAsync<WebConsoleOptions> = async (app, { root }) => {
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    wildcard: false,
    globIgnore: ['**/*.gz', '**/*.br'],
    preCompressed: true,
    cacheControl: false,
    index: ['index.html'],
    setHeaders: (res, path) => {
      res.setHeader('cache-control', cacheControlFor(path));
      res.setHeader('x-content-type-options', 'nosniff');
      res.setHeader('vary', 'accept-encoding');
      if (/\.html(\.br|\.gz)?$/.test(path)) {
        // The console talks to this server only; no inline script, no framing, no plug-ins.
        res.setHeader('content-security-policy', CONSOLE_CSP);
        res.setHeader('referrer-policy', 'same-origin');
        res.setHeader('x-frame-options', 'DENY');
      }
    },
  });
};

/** The console's Content-Security-Policy: its own scripts and styles, images from anywhere over https (avatars). */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' https: data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

export const webConsole = fp(webConsolePlugin, { name: 'agentry-web-console' });

/** The console's single page, for a client-side route (the SPA fallback). */
export const sendConsolePage = (reply: FastifyReply): FastifyReply => reply.code(200).sendFile('index.html');
