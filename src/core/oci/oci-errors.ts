import { AgentryError, type ErrorCode } from '../errors.js';

/** The error codes of the OCI Distribution Specification (its "Error Codes" table). */
export type OciErrorCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'TAG_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS'
  | 'RANGE_INVALID';

/** The core's generic code for each OCI code (what other doors and the logs see). */
const GENERIC: Record<OciErrorCode, ErrorCode> = {
  BLOB_UNKNOWN: 'not_found',
  BLOB_UPLOAD_INVALID: 'bad_request',
  BLOB_UPLOAD_UNKNOWN: 'not_found',
  DIGEST_INVALID: 'bad_request',
  MANIFEST_BLOB_UNKNOWN: 'bad_request',
  MANIFEST_INVALID: 'bad_request',
  MANIFEST_UNKNOWN: 'not_found',
  NAME_INVALID: 'bad_request',
  NAME_UNKNOWN: 'not_found',
  SIZE_INVALID: 'bad_request',
  TAG_INVALID: 'bad_request',
  UNAUTHORIZED: 'unauthorized',
  DENIED: 'forbidden',
  UNSUPPORTED: 'not_implemented',
  TOOMANYREQUESTS: 'rate_limited',
  RANGE_INVALID: 'bad_request',
};

/**
 * An error of the OCI domain: a core error (code, status, message, details) that also names
 * the distribution-spec code it stands for. `RANGE_INVALID` is a chunk or byte range that does
 * not fit (the spec answers it with 416 and `BLOB_UPLOAD_INVALID`).
 */
export class OciError extends AgentryError {
  readonly oci: OciErrorCode;
  /** Structured detail for the spec's `detail` field. */
  readonly detail: unknown;

  constructor(oci: OciErrorCode, message: string, detail?: unknown, details: string[] = []) {
    super(GENERIC[oci], message, details);
    this.oci = oci;
    this.detail = detail;
  }
}

export const isOciError = (e: unknown): e is OciError => e instanceof OciError;

export const ociError = (oci: OciErrorCode, message: string, detail?: unknown): OciError => new OciError(oci, message, detail);
