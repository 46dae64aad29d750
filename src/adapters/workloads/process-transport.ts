import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { mcpClientSdk } from '../mcp-client/sdk.js';
import type { SandboxedProcess } from '../../core/sandbox/sandbox.js';

/** Longest line kept in a log (longer ones are cut, with a note). */
export const MAX_LOG_LINE = 16 * 1024;
/** Largest stdout line taken as one MCP message; a server that writes more without a newline is cut off. */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export const clip = (line: string): string => (line.length > MAX_LOG_LINE ? `${line.slice(0, MAX_LOG_LINE)} … [${line.length - MAX_LOG_LINE} more characters cut]` : line);

/** Splits a byte stream into lines, calling `onLine` for each; a line past `max` bytes is cut and reported. */
export const lineSplitter = (onLine: (line: string) => void, onOverflow: () => void, max = MAX_MESSAGE_BYTES) => {
  let chunks: Buffer[] = [];
  let size = 0;
  let overflowed = false;
  return (data: Buffer): void => {
    let start = 0;
    for (let i = data.indexOf(10); i !== -1; i = data.indexOf(10, start)) {
      if (!overflowed) chunks.push(data.subarray(start, i));
      const line = overflowed ? '' : Buffer.concat(chunks).toString('utf8').replace(/\r$/, '');
      chunks = [];
      size = 0;
      if (!overflowed) onLine(line);
      overflowed = false;
      start = i + 1;
    }
    if (start < data.length && !overflowed) {
      chunks.push(data.subarray(start));
      size += data.length - start;
      if (size > max) {
        overflowed = true;
        chunks = [];
        size = 0;
        onOverflow();
      }
    }
  };
};

/**
 * The MCP stdio transport over an already started (sandboxed) process: newline-delimited JSON-RPC on
 * stdin/stdout. What is not a JSON-RPC message on stdout (a server printing garbage) goes to `log`,
 * as does every stderr line; it never reaches the client.
 */
export class ProcessTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private closed = false;

  constructor(
    private readonly proc: SandboxedProcess,
    private readonly log: (line: string) => void,
  ) {}

  async start(): Promise<void> {
    const { JSONRPCMessageSchema } = await mcpClientSdk();
    this.proc.stdout.on(
      'data',
      lineSplitter(
        (line) => {
          if (line.trim() === '') return;
          let message: JSONRPCMessage;
          try {
            message = JSONRPCMessageSchema.parse(JSON.parse(line));
          } catch {
            this.log(clip(`[stdout, not MCP] ${line}`));
            return;
          }
          this.onmessage?.(message);
        },
        () => this.log('[agentry] stdout line over 64 MiB dropped'),
      ),
    );
    this.proc.stderr.on(
      'data',
      lineSplitter(
        (line) => this.log(clip(line)),
        () => this.log('[agentry] stderr line over 64 MiB cut'),
        1024 * 1024,
      ),
    );
    this.proc.stdin.on('error', () => undefined);
    void this.proc.exited.then(() => this.finish());
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.closed) throw new Error('the workload process has ended');
    // Like the SDK's stdio transport: resolve once the line is handed to the pipe (waiting for
    // 'drain' only when the pipe is full), not after a write callback's extra turn of the loop.
    if (!this.proc.stdin.write(`${JSON.stringify(message)}\n`)) await Promise.race([new Promise<void>((resolve) => this.proc.stdin.once('drain', resolve)), this.proc.exited]);
  }

  async close(): Promise<void> {
    this.finish();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.onclose?.();
  }
}
