/**
 * The CLI's exit codes: the one table, used by every failure and printed in `agentry --help`.
 * Scripts can tell "try again later" (network) from "fix the command" (usage) from "log in"
 * (auth) without reading stderr.
 */
export const EXIT = {
  ok: 0,
  /** Anything else: the server refused the input (400, 422), failed (5xx), a local file problem. */
  failure: 1,
  /** The command line is wrong: unknown command or option, missing or invalid argument. */
  usage: 2,
  /** Not logged in, the token was refused (401), or it lacks the permission (403). */
  auth: 3,
  /** The package, version, scope, token or other object does not exist (404, 410). */
  notFound: 4,
  /** It already exists or changed meanwhile (409, 412). */
  conflict: 5,
  /** The registry could not be reached, or the connection broke. */
  network: 6,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The exit code for an HTTP status the registry answered; 0 means no answer came (network). */
export const exitCodeForStatus = (status: number): ExitCode => {
  if (status === 0) return EXIT.network;
  if (status === 401 || status === 403) return EXIT.auth;
  if (status === 404 || status === 410) return EXIT.notFound;
  if (status === 409 || status === 412) return EXIT.conflict;
  return EXIT.failure;
};

const DESCRIPTIONS: Array<[ExitCode, string]> = [
  [EXIT.ok, 'success'],
  [EXIT.failure, 'failure (refused input, server error, local problem)'],
  [EXIT.usage, 'usage error (unknown command or option, bad argument)'],
  [EXIT.auth, 'authentication or permission (401, 403): log in or use another token'],
  [EXIT.notFound, 'not found (404)'],
  [EXIT.conflict, 'conflict: already exists (409)'],
  [EXIT.network, 'network: the registry could not be reached'],
];

/** The "Exit codes:" section of `agentry --help` (and of the README). */
export const exitCodesHelp = (): string => ['Exit codes:', ...DESCRIPTIONS.map(([code, text]) => `  ${code}  ${text}`)].join('\n');
