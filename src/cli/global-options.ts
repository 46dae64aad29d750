import type { Command } from 'commander';

/** The options every registry command takes. */
export interface RegistryOptions {
  registry?: string;
  token?: string;
}

export interface JsonOption {
  json?: boolean;
}

/** Adds `--registry` and `--token` to a command that talks to a registry. */
export const withRegistryOptions = (cmd: Command): Command =>
  cmd
    .option('--registry <url>', 'registry URL (env AGENTRY_REGISTRY; default: the saved default, else http://127.0.0.1:8080)')
    .option('--token <token>', 'API token (env AGENTRY_TOKEN; default: the token saved by `agentry login`)');

/** Adds `--json` to a command whose output a script would want. */
export const withJsonOption = (cmd: Command): Command => cmd.option('--json', 'print the result as JSON');
