import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AgentryError } from '../../core/errors.js';
import { isOciError, type OciErrorCode } from '../../core/oci/oci-errors.js';
import { errorForRequest } from '../shared/framework-errors.js';
import { challenge } from './auth.js';

/** One error in the distribution spec's body: `{"errors":[{code,message,detail}]}`. */
export interface OciErrorBody {
  errors: Array<{ code: string; message: string; detail?: unknown }>;
}

const STATUS: Record<OciErrorCode, number> = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  TAG_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
  RANGE_INVALID: 416,
};

/** The spec code for a generic core error, by what the request was doing. */
const codeOf = (e: AgentryError, request: FastifyRequest): { code: string; status: number } => {
  const url = request.routeOptions?.url ?? '';
  // A repository name component the path schema (or the control-character guard) refused.
  if ((e.code === 'validation_failed' || e.code === 'bad_request') && e.details.some((d) => /^params\.(scope|name)\b/.test(d))) return { code: 'NAME_INVALID', status: 400 };
  switch (e.code) {
    case 'unauthorized':
      return { code: 'UNAUTHORIZED', status: 401 };
    case 'forbidden':
    case 'read_only':
      return { code: 'DENIED', status: 403 };
    case 'conflict':
      return { code: 'DENIED', status: 409 };
    case 'unprocessable':
      return { code: url.includes('/manifests/') ? 'MANIFEST_INVALID' : 'UNSUPPORTED', status: 422 };
    case 'not_found':
      return {
        code: url.includes('/blobs/uploads') ? 'BLOB_UPLOAD_UNKNOWN' : url.includes('/blobs/') ? 'BLOB_UNKNOWN' : url.includes('/manifests/') ? 'MANIFEST_UNKNOWN' : 'NAME_UNKNOWN',
        status: 404,
      };
    case 'payload_too_large':
      return { code: 'SIZE_INVALID', status: 413 };
    case 'uri_too_long':
      return { code: 'NAME_INVALID', status: 414 };
    case 'unsupported_media_type':
      return { code: 'MANIFEST_INVALID', status: 415 };
    case 'rate_limited':
      return { code: 'TOOMANYREQUESTS', status: 429 };
    case 'not_implemented':
      return { code: 'UNSUPPORTED', status: 405 };
    case 'internal':
      return { code: 'UNKNOWN', status: 500 };
    default:
      return {
        code: url.includes('/manifests/')
          ? 'MANIFEST_INVALID'
          : url.includes('/blobs/uploads')
            ? 'BLOB_UPLOAD_INVALID'
            : url.includes('/blobs/')
              ? 'DIGEST_INVALID'
              : url.includes('/tags/')
                ? 'NAME_INVALID'
                : 'UNSUPPORTED',
        status: e.status,
      };
  }
};

/**
 * The OCI door's one error mapping: spec code and status from the core error, body in the
 * spec's shape, and on 401 a `WWW-Authenticate` challenge that starts the Docker token flow.
 */
export const ociErrorHandler =
  (publicUrl: string | undefined) =>
  (err: unknown, request: FastifyRequest, reply: FastifyReply): void => {
    const e = errorForRequest(err, request);
    let code: string;
    let status: number;
    let detail: unknown;
    if (isOciError(e)) {
      code = e.oci === 'RANGE_INVALID' ? 'BLOB_UPLOAD_INVALID' : e.oci;
      status = STATUS[e.oci];
      detail = e.detail;
    } else {
      ({ code, status } = codeOf(e, request));
      detail = Object.keys(e.fields).length > 0 ? { ...e.fields, ...(e.details.length > 0 ? { problems: e.details } : {}) } : e.details.length > 0 ? e.details : undefined;
    }
    if (status === 401) {
      const scope = isOciError(e) && typeof (e.detail as { scope?: unknown } | undefined)?.scope === 'string' ? (e.detail as { scope: string }).scope : undefined;
      void reply.header('WWW-Authenticate', challenge(request, publicUrl, scope));
    }
    const body: OciErrorBody = { errors: [{ code, message: e.message, ...(detail !== undefined ? { detail } : {}) }] };
    void reply.status(status).type('application/json; charset=utf-8').send(body);
  };
