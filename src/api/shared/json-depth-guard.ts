import { Transform, type Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AgentryError } from '../../core/errors.js';

/** Deepest nesting of arrays and objects a JSON body may have; no document of any door comes near it. */
export const MAX_JSON_DEPTH = 64;

const isJson = (contentType: string | undefined): boolean => {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || type.endsWith('+json');
};

const BACKSLASH = 0x5c;
const QUOTE = 0x22;

/**
 * Reads a JSON text as it streams in, before any parser sees it, and refuses what no parser
 * should recurse into or no store may keep: nesting deeper than `MAX_JSON_DEPTH` and a `\u0000`
 * escape inside a string (PostgreSQL cannot hold NUL in text, and no field of any door needs it).
 * It keeps only a few counters, so a hostile body costs no more than its bytes.
 */
class JsonScanner extends Transform {
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Hex digits read of a `\u` escape, -1 outside one; `zeros` counts how many were `0`. */
  private hex = -1;
  private zeros = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null, data?: Buffer) => void): void {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (this.inString) {
        if (this.hex >= 0) {
          if (b === 0x30) this.zeros++;
          if (++this.hex === 4) {
            if (this.zeros === 4) return done(new AgentryError('bad_request', 'The JSON body holds a NUL character (\\u0000) in a string', ['text fields may not contain NUL characters']));
            this.hex = -1;
          }
        } else if (this.escaped) {
          this.escaped = false;
          if (b === 0x75) {
            this.hex = 0;
            this.zeros = 0;
          }
        } else if (b === BACKSLASH) this.escaped = true;
        else if (b === QUOTE) this.inString = false;
      } else if (b === QUOTE) this.inString = true;
      else if (b === 0x7b || b === 0x5b) {
        if (++this.depth > MAX_JSON_DEPTH) {
          return done(new AgentryError('bad_request', `The JSON body is nested too deeply`, [`objects and arrays may be nested at most ${MAX_JSON_DEPTH} levels deep`]));
        }
      } else if (b === 0x7d || b === 0x5d) this.depth--;
    }
    done(null, chunk);
  }
}

/**
 * `preParsing` hook on the root instance: every JSON body (`application/json`, `…+json`, OCI
 * manifests included), whichever door and parser take it, streams through the scanner first.
 * A route whose body is opaque bytes (an OCI blob upload, `config: { opaqueBody: true }`) is left alone.
 */
export const guardJsonBodies = (request: FastifyRequest, _reply: FastifyReply, payload: Readable, done: (err: Error | null, body?: Readable) => void): void => {
  // Synchronous (a callback hook): nearly every request has no JSON body and passes straight on.
  const type = request.headers['content-type'];
  if (type === undefined || !isJson(type) || (request.routeOptions.config as { opaqueBody?: boolean } | undefined)?.opaqueBody) return done(null, payload);
  const scanner = new JsonScanner();
  payload.on('error', (e) => scanner.destroy(e));
  // The refusal reaches whoever reads the body (the parser, or a door's handler that streams it,
  // as the OCI door does); a body nobody reads must not become an uncaught stream error.
  scanner.on('error', () => undefined);
  done(null, payload.pipe(scanner));
};
