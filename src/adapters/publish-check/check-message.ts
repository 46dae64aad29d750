import { AgentryError, type ErrorCode } from '../../core/errors.js';
import type { CheckedPublish, PublishCheckInput } from '../../core/packages/publish-validation.js';
import type { TarballLimits } from '../../core/packages/tarball.js';

/** One check asked of a worker. */
export interface CheckRequest {
  seq: number;
  id: { scope: string; name: string };
  input: PublishCheckInput;
  limits: TarballLimits;
}

/** A thrown error as it crosses threads: an AgentryError keeps its code, details and fields. */
export interface SentError {
  agentry: boolean;
  code: ErrorCode;
  message: string;
  details: string[];
  fields: Record<string, unknown>;
}

/**
 * A worker's answer. `sameTarball`: the bytes to store are the tarball as sent (nothing was
 * re-packed), so they are not sent back; the asking side keeps its own.
 */
export type CheckReply =
  | { seq: number; checked: Omit<CheckedPublish, 'contents'> & { contents: Omit<CheckedPublish['contents'], 'tarball'> & { tarball?: Uint8Array } }; sameTarball: boolean }
  | { seq: number; error: SentError };

export const sendError = (e: unknown): SentError =>
  e instanceof AgentryError
    ? { agentry: true, code: e.code, message: e.message, details: [...e.details], fields: { ...e.fields } }
    : { agentry: false, code: 'internal', message: e instanceof Error ? e.message : String(e), details: [], fields: {} };

export const receivedError = (e: SentError): Error => (e.agentry ? new AgentryError(e.code, e.message, e.details, e.fields) : new Error(`publish check failed in its worker: ${e.message}`));

/** A Buffer over the bytes a message carried (structured clone gives a plain Uint8Array). */
export const asBuffer = (bytes: Uint8Array): Buffer => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
