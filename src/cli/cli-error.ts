/**
 * A failure the CLI reports as one line, `agentry: <message>`, followed by each detail indented.
 * Every command throws this (or lets the HTTP client throw it) instead of printing and exiting.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly details: readonly string[] = [],
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** The lines written to stderr for a failure. */
export const formatFailure = (error: unknown): string => {
  if (error instanceof CliError) {
    return [`agentry: ${error.message}`, ...error.details.map((d) => `  ${d}`)].join('\n') + '\n';
  }
  const message = error instanceof Error ? error.message : String(error);
  return `agentry: ${message}\n`;
};
