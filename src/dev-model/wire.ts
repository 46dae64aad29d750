import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Conversation } from './conversation.js';
import { countTokens, textChunks, type StopReason, type ToolCall, type Turn, type Usage } from './turn.js';

/** Shared plumbing of both protocols: ids, pacing, SSE frames, and a turn made ready to render. */
export const newId = (prefix: string): string => `${prefix}${randomBytes(12).toString('base64url')}`;

export const sleep = (ms: number, res: ServerResponse): Promise<void> =>
  new Promise((resolve) => {
    if (ms <= 0 || res.destroyed) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      res.off('close', done);
      resolve();
    }
    res.once('close', done);
  });

export const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
};

export const startSse = (res: ServerResponse, headers: Record<string, string>): void => {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', ...headers });
};

/** A turn with every default filled in: what both renderers read. */
export interface ReadyTurn {
  chunks: string[];
  thinking?: string;
  toolCalls: Required<ToolCall>[];
  stopReason: StopReason;
  usage: Required<Usage>;
  chunkDelayMs: number;
  streamError?: { type?: string; message?: string };
}

/**
 * Fills in a turn's defaults for a request: tool call ids, a stop reason, and token counts. Without a
 * scripted stop reason, text past the request's token limit is cut there with `max_tokens`.
 */
export const readyTurn = (t: Turn, c: Conversation, idPrefix: string): ReadyTurn => {
  let chunks = textChunks(t);
  let toolCalls = (t.toolCalls ?? []).map((call) => ({ id: call.id ?? newId(idPrefix), name: call.name, input: call.input }));
  let stopReason: StopReason = t.stopReason ?? (toolCalls.length > 0 ? 'tool_use' : 'end_turn');
  if (t.stopReason === undefined && c.maxTokens !== undefined && countTokens(chunks.join('')) > c.maxTokens) {
    let room = c.maxTokens * 4;
    chunks = chunks
      .map((ch) => {
        const kept = ch.slice(0, Math.max(0, room));
        room -= kept.length;
        return kept;
      })
      .filter((ch) => ch !== '');
    toolCalls = [];
    stopReason = 'max_tokens';
  }
  const produced = chunks.join('') + (t.thinking ?? '') + toolCalls.map((x) => x.name + JSON.stringify(x.input)).join('');
  const usage: Required<Usage> = {
    input_tokens: t.usage?.input_tokens ?? countTokens(c.allText),
    output_tokens: t.usage?.output_tokens ?? Math.max(1, countTokens(produced)),
    cache_creation_input_tokens: t.usage?.cache_creation_input_tokens ?? 0,
    cache_read_input_tokens: t.usage?.cache_read_input_tokens ?? 0,
  };
  return { chunks, thinking: t.thinking, toolCalls, stopReason, usage, chunkDelayMs: t.chunkDelayMs ?? 0, streamError: t.streamError };
};

/** Splits text into word-sized pieces, the way a model streams it. */
export const wordChunks = (text: string): string[] => text.match(/\S+\s*|\s+/g) ?? [];

/** Splits a JSON text into a few pieces, as providers stream tool input. */
export const jsonPieces = (json: string): string[] => {
  const size = Math.max(8, Math.ceil(json.length / 3));
  const out: string[] = [];
  for (let i = 0; i < json.length; i += size) out.push(json.slice(i, i + size));
  return out;
};
