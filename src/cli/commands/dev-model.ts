import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { EXIT } from '../exit-codes.js';
import { writeLine } from '../output.js';
import { nextStopSignal } from '../stop-signal.js';

interface DevModelCliOptions {
  host: string;
  port: string;
  apiKey?: string;
  quiet?: boolean;
}

const HELP = `
The dev model is a local stand-in for a model provider, not a language model. It speaks the
Anthropic Messages API (POST /v1/messages) and OpenAI chat/completions (POST /v1/chat/completions),
streaming and not, plus GET /v1/models, so agent sessions can be tried without a provider key.

It answers from your message: it echoes it, and when tools are offered, a line
  /tool <name> {"some": "json input"}
makes it call that tool; on the next turn it reports the tool's result in words.

Point a model card at it:
  ant-compatible  base_url http://127.0.0.1:8787      model dev-model
  oai-compatible  base_url http://127.0.0.1:8787/v1   model dev-model
Any non-empty API key is accepted unless --api-key is given.

Tests script it through POST /_dev-model/script {"turns": [...]} and read what it received at
GET /_dev-model/requests (see src/dev-model/turn.ts for a turn's fields).`;

/** `agentry dev-model`: runs the local model provider stand-in until stopped. */
export const registerDevModelCommand = (program: Command): void => {
  program
    .command('dev-model')
    .description('Run a local stand-in for a model provider (Anthropic and OpenAI protocols) to try sessions without a key')
    .option('--host <host>', 'address to bind; keep it on loopback unless you mean to share it', '127.0.0.1')
    .option('--port <port>', 'port, 0 for a free one', '8787')
    .option('--api-key <key>', 'accept only this key (default: any non-empty key)')
    .option('--quiet', 'do not print a line per request')
    .addHelpText('after', HELP)
    .action(async (opts: DevModelCliOptions) => {
      const port = Number(opts.port);
      if (!/^\d+$/.test(opts.port) || port > 65535) throw new CliError(`--port must be a whole number from 0 to 65535, not '${opts.port}'`, [], EXIT.usage);
      if (opts.apiKey !== undefined && opts.apiKey.trim() === '') throw new CliError('--api-key must not be empty', [], EXIT.usage);
      const { startDevModel } = await import('../../dev-model/server.js');
      let model;
      try {
        model = await startDevModel({
          host: opts.host,
          port,
          apiKey: opts.apiKey,
          onResponse: opts.quiet ? undefined : (r) => writeLine(`${r.method} ${r.path} ${r.status ?? '-'}${r.protocol === 'anthropic' ? ' (anthropic)' : ' (openai)'}`),
        });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new CliError(
          code === 'EADDRINUSE' ? `port ${port} on ${opts.host} is already in use; pick another with --port` : `cannot listen on ${opts.host}:${port}: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
      const stopped = nextStopSignal();
      writeLine(
        [
          `Agentry dev model listening on ${model.url}`,
          'A local stand-in for a model provider (not a language model): it echoes, and calls a tool on "/tool <name> {json}".',
          '',
          `  ant-compatible model card: base_url ${model.anthropicBaseUrl}   model dev-model`,
          `  oai-compatible model card: base_url ${model.openaiBaseUrl}   model dev-model`,
          `  API key: ${opts.apiKey === undefined ? 'any non-empty key' : 'the one given with --api-key'}`,
          '',
        ].join('\n'),
      );
      const signal = await stopped;
      writeLine(`Received ${signal}, shutting down`);
      await model.close();
    });
};
