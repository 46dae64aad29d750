import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { connect, requireToken, type Connection } from '../connection.js';
import { withJsonOption, withRegistryOptions, type JsonOption, type RegistryOptions } from '../global-options.js';
import { EXIT } from '../exit-codes.js';
import { parsePackageRef } from '../package-ref.js';
import { call, interruptTurn, readStdin, streamTurn, turnFailed, type Page, type SessionJson } from '../session-stream.js';

type RunCliOptions = RegistryOptions & JsonOption & { model?: string; environment?: string };

/** The `agent` of `POST /v1/sessions` for a reference: `@scope/name[@version]` or `agentspace:<id>/<assistant_id>`. */
export const agentOfRef = (raw: string, model: string | undefined): Record<string, string> => {
  const space = /^agentspace:([^/\s]+)\/([^/\s]+)$/.exec(raw.trim());
  if (space) {
    if (model) throw new CliError('--model applies to packages only: an agentspace agent names its model in its connector', [], EXIT.usage);
    return { type: 'agentspace', agentspace_id: space[1], assistant_id: space[2] };
  }
  if (raw.startsWith('agentspace:')) throw new CliError(`invalid agent '${raw}': expected agentspace:<agentspace_id>/<assistant_id>`, [], EXIT.usage);
  const ref = parsePackageRef(raw, 'optional');
  return { type: 'package', name: ref.fullName, ...(ref.version ? { version: ref.version } : {}), ...(model ? { model } : {}) };
};

/** The environment to run in: the one asked for, else the caller's newest. */
const environmentOf = async (conn: Connection, asked: string | undefined): Promise<string> => {
  if (asked) return asked;
  const envs = await call<Page<{ id: string }>>(conn, 'GET', '/environments', undefined, { limit: 1 });
  const first = envs.data[0];
  if (!first) {
    throw new CliError(
      'you have no environment to run in',
      [
        `create one: curl -X POST ${conn.registry}/v1/environments -H "authorization: Bearer $AGENTRY_TOKEN" -H 'content-type: application/json' -d '{"name":"default"}'`,
        'or in the console at /managed/environments; then run again (or pass --environment env_…)',
      ],
      EXIT.notFound,
    );
  }
  return first.id;
};

/** Asks the server to interrupt the session's running turn; the stream then ends it (idle). */
const interrupt = (conn: Connection, sessionId: string): void => {
  process.stderr.write('\n[interrupting — Ctrl-C again to quit]\n');
  void interruptTurn(conn, sessionId).catch((e: unknown) => process.stderr.write(`agentry: could not interrupt: ${e instanceof Error ? e.message : String(e)}\n`));
};

/** One turn (a prompt given or piped): SIGINT interrupts the turn on the server, not just this program; a second one exits. Exit 130 when interrupted. */
const oneTurn = async (conn: Connection, sessionId: string, text: string, json: boolean): Promise<void> => {
  let interrupted = false;
  const onSigint = (): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    interrupt(conn, sessionId);
  };
  process.on('SIGINT', onSigint);
  try {
    const result = await streamTurn(conn, sessionId, text, { json });
    if (interrupted) process.exitCode = 130;
    else if (turnFailed(result)) process.exitCode = 1;
  } finally {
    process.off('SIGINT', onSigint);
  }
};

/** The chat: read a line, stream the answer; Ctrl-C interrupts the running turn, a second Ctrl-C (or one at the prompt) or EOF exits. */
const chat = async (conn: Connection, sessionId: string, json: boolean): Promise<void> => {
  const rl = createInterface({ input: process.stdin, output: process.stdout, prompt: json ? '' : '> ' }); // --json: stdout stays JSON lines
  let turn: AbortController | undefined;
  let interrupted = false;
  rl.on('SIGINT', () => {
    if (!turn || interrupted) {
      turn?.abort();
      process.stderr.write('\n');
      rl.close();
      process.exit(turn ? 130 : 0);
    }
    interrupted = true;
    interrupt(conn, sessionId);
  });
  rl.prompt();
  for await (const line of rl) {
    const text = line.trim();
    if (text !== '') {
      turn = new AbortController();
      interrupted = false;
      try {
        await streamTurn(conn, sessionId, text, { json, signal: turn.signal });
      } finally {
        turn = undefined;
      }
    }
    rl.prompt();
  }
  process.stderr.write('\n');
};

/** `agentry run <ref> [prompt]`: runs an agent package or an agentspace agent as a session, one turn or a chat. */
export const registerRunCommand = (program: Command): void => {
  withJsonOption(
    withRegistryOptions(
      program
        .command('run')
        .description('Run an agent package (@scope/name[@version]) or an agentspace agent (agentspace:<id>/<assistant_id>): one turn with a prompt, else a chat in the terminal')
        .argument('<agent>', '@scope/name[@version|@tag] (an agent package) or agentspace:<agentspace_id>/<assistant_id>')
        .argument('[prompt]', 'what to say; without it: a chat when stdin is a terminal, else the prompt is read from stdin')
        .option('--model <model_id>', 'a model card of yours to run a package with (overrides its config.model)')
        .option('--environment <id>', 'the environment to run in (default: your newest)')
        .addHelpText(
          'after',
          `
The first run of a package version creates a managed agent of yours and later runs share it
(docs/run.md). Text streams as it arrives, tool calls are folded to one line, usage ends each turn;
--json prints the event stream as JSON lines. In the chat, Ctrl-C interrupts the running turn and a
second Ctrl-C or Ctrl-D exits. With a prompt, Ctrl-C (SIGINT) interrupts the turn on the server too
(exit 130). The exit code is 1 when a turn ends in an error.

  agentry run @alice/haiku "Write one about tea"
  agentry run @alice/haiku@1.0.0 --model dev-model
  echo "Hello" | agentry run agentspace:default/helper --json`,
        ),
    ),
  ).action(async (ref: string, prompt: string | undefined, opts: RunCliOptions) => {
    const agent = agentOfRef(ref, opts.model);
    const conn = await connect(opts);
    requireToken(conn);
    const interactive = prompt === undefined && process.stdin.isTTY === true;
    const text = prompt ?? (interactive ? undefined : (await readStdin()).trim());
    if (!interactive && !text) throw new CliError('say something: pass a prompt or pipe it on stdin', [], EXIT.usage);
    const environment_id = await environmentOf(conn, opts.environment);
    const s = await call<SessionJson>(conn, 'POST', '/sessions', { agent, environment_id }).catch((e: unknown) => {
      // "Package not found" alone does not say which: name the reference.
      throw e instanceof CliError ? new CliError(`cannot run ${ref}: ${e.message}`, e.details, e.exitCode) : e;
    });
    if (!opts.json) {
      const src = s.agent?.source;
      process.stderr.write(`session ${s.id} · ${src?.name ? `${src.name}@${src.version}` : ref}\n`);
      if (interactive) {
        const examples = src?.suggested_prompts ?? [];
        if (examples.length > 0) process.stderr.write(`try: ${examples.map((p) => JSON.stringify(p)).join(', ')}\n`);
        process.stderr.write('Ctrl-C interrupts a turn; Ctrl-C again or Ctrl-D exits.\n');
      }
    }
    if (interactive) return chat(conn, s.id, opts.json === true);
    await oneTurn(conn, s.id, text!, opts.json === true);
  });
};
