/**
 * What no log line may show, at any level: pino `redact` paths over the request and response
 * serializers and over whatever a log call passes that holds headers or a body. Credentials
 * travel in headers (Bearer, Basic, `x-api-key`, cookies) and in a few body fields; every one of
 * them is replaced by `[redacted]` before a line is written. (Fastify itself logs no headers or
 * bodies; libraries may, at debug and trace.)
 */
const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'x-api-key', 'cookie', 'set-cookie', 'x-auth-token', 'x-registry-auth'];

/** Body and multipart fields that carry a secret in some door (tokens, passwords, secret values, keys). */
const SECRET_FIELDS = ['token', 'access_token', 'refresh_token', 'password', 'secret', 'client_secret', 'api_key', 'value', 'credentials'];

const headerPaths = (prefix: string): string[] => CREDENTIAL_HEADERS.map((h) => `${prefix}["${h}"]`);

export const REDACTED_PATHS: string[] = [
  // The request and response serializers, and any object a log call passes that holds headers:
  // at trace level @fastify/multipart logs the busboy options, request headers included.
  ...headerPaths('req.headers'),
  ...headerPaths('res.headers'),
  ...headerPaths('headers'),
  ...headerPaths('*.headers'),
  ...headerPaths('err.request.headers'),
  ...SECRET_FIELDS.map((f) => `req.body.${f}`),
  ...SECRET_FIELDS.map((f) => `body.${f}`),
  ...SECRET_FIELDS.map((f) => `*.body.${f}`),
];
