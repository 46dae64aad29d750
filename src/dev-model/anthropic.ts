import type { ServerResponse } from 'node:http';
import type { Conversation, ConversationMessage } from './conversation.js';
import type { TurnError } from './turn.js';
import { jsonPieces, newId, sendJson, sleep, startSse, type ReadyTurn } from './wire.js';

/**
 * Anthropic Messages (`POST /v1/messages`) as documented at docs.anthropic.com: the request checks,
 * the message object, the SSE event sequence and the error shape.
 */
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};
const ERROR_MESSAGES: Record<string, string> = {
  rate_limit_error: 'Number of request tokens has exceeded your per-minute rate limit',
  overloaded_error: 'Overloaded',
  api_error: 'Internal server error',
  authentication_error: 'invalid x-api-key',
  timeout_error: 'Request timeout',
};

export const anthropicErrorType = (status: number): string => ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');

export const sendAnthropicError = (res: ServerResponse, e: TurnError, requestId: string): void => {
  const type = e.type ?? anthropicErrorType(e.status);
  const headers: Record<string, string> = { 'request-id': requestId };
  if (e.retryAfter !== undefined) headers['retry-after'] = String(e.retryAfter);
  if (e.retryAfterMs !== undefined) headers['retry-after-ms'] = String(e.retryAfterMs);
  if (e.status === 529) headers['x-should-retry'] = 'true';
  sendJson(res, e.status, { type: 'error', error: { type, message: e.message ?? ERROR_MESSAGES[type] ?? type.replace(/_/g, ' ') }, request_id: requestId }, headers);
};

export interface ParsedAnthropic {
  conversation: Conversation;
  stream: boolean;
}

const blockText = (content: unknown): string => {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((b) => (isObject(b) && b.type === 'text' && typeof b.text === 'string' ? b.text : '')).join('');
};

/** Reads a Messages request; a problem is answered as the API's 400 message (`field: why`). */
export const parseAnthropicRequest = (body: unknown): ParsedAnthropic | { problem: string } => {
  if (!isObject(body)) return { problem: 'The request body is not a JSON object' };
  if (typeof body.model !== 'string' || body.model === '') return { problem: 'model: Field required' };
  if (body.max_tokens === undefined) return { problem: 'max_tokens: Field required' };
  if (!Number.isInteger(body.max_tokens) || (body.max_tokens as number) < 1) return { problem: 'max_tokens: Input should be a valid integer greater than or equal to 1' };
  if (body.messages === undefined) return { problem: 'messages: Field required' };
  if (!Array.isArray(body.messages)) return { problem: 'messages: Input should be a valid list' };
  if (body.stream !== undefined && typeof body.stream !== 'boolean') return { problem: 'stream: Input should be a valid boolean' };
  if (body.system !== undefined && typeof body.system !== 'string' && !Array.isArray(body.system)) return { problem: 'system: Input should be a valid string or list of text blocks' };
  if (body.tools !== undefined && !Array.isArray(body.tools)) return { problem: 'tools: Input should be a valid list' };
  const tools: string[] = [];
  for (const [i, t] of ((body.tools as unknown[] | undefined) ?? []).entries()) {
    if (!isObject(t) || typeof t.name !== 'string' || t.name === '') return { problem: `tools.${i}.name: Field required` };
    if (t.type === undefined && !isObject(t.input_schema)) return { problem: `tools.${i}.input_schema: Field required` };
    tools.push(t.name);
  }
  const names = new Map<string, string>();
  const messages: ConversationMessage[] = [];
  const texts: string[] = [blockText(body.system)];
  for (const [i, m] of body.messages.entries()) {
    if (!isObject(m)) return { problem: `messages.${i}: Input should be a valid dictionary` };
    if (m.role !== 'user' && m.role !== 'assistant') return { problem: `messages.${i}.role: Input should be 'user' or 'assistant'` };
    if (typeof m.content !== 'string' && !Array.isArray(m.content)) return { problem: `messages.${i}.content: Field required` };
    const message: ConversationMessage = { role: m.role, text: blockText(m.content), toolResults: [] };
    for (const [j, b] of (Array.isArray(m.content) ? m.content : []).entries()) {
      if (!isObject(b) || typeof b.type !== 'string') return { problem: `messages.${i}.content.${j}.type: Field required` };
      if (b.type === 'tool_use') {
        if (m.role !== 'assistant') return { problem: `messages.${i}.content.${j}: tool_use blocks belong to assistant messages` };
        if (typeof b.id !== 'string' || typeof b.name !== 'string') return { problem: `messages.${i}.content.${j}: tool_use needs id and name` };
        names.set(b.id, b.name);
        texts.push(b.name, JSON.stringify(b.input ?? {}));
      } else if (b.type === 'tool_result') {
        if (m.role !== 'user') return { problem: `messages.${i}.content.${j}: tool_result blocks belong to user messages` };
        if (typeof b.tool_use_id !== 'string') return { problem: `messages.${i}.content.${j}.tool_use_id: Field required` };
        if (!names.has(b.tool_use_id)) {
          return {
            problem: `messages.${i}.content.${j}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${b.tool_use_id}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`,
          };
        }
        const content = blockText(b.content);
        message.toolResults.push({ toolCallId: b.tool_use_id, name: names.get(b.tool_use_id), content, isError: b.is_error === true });
        texts.push(content);
      }
    }
    texts.push(message.text);
    messages.push(message);
  }
  if (messages.length === 0) return { problem: 'messages: at least one message is required' };
  return {
    conversation: { model: body.model, system: blockText(body.system), messages, tools, maxTokens: body.max_tokens as number, allText: texts.join('\n') },
    stream: body.stream === true,
  };
};

const message = (id: string, model: string, content: unknown[], stopReason: string | null, usage: ReadyTurn['usage']) => ({
  id,
  type: 'message',
  role: 'assistant',
  model,
  content,
  stop_reason: stopReason,
  stop_sequence: null,
  usage,
});

const signature = (text: string): string => Buffer.from(`dev-model:${text.length}`).toString('base64');

/** The whole message at once (`stream` absent or false). */
export const sendAnthropicMessage = (res: ServerResponse, t: ReadyTurn, model: string, requestId: string): void => {
  const content: unknown[] = [];
  if (t.thinking !== undefined) content.push({ type: 'thinking', thinking: t.thinking, signature: signature(t.thinking) });
  if (t.chunks.length > 0) content.push({ type: 'text', text: t.chunks.join('') });
  for (const c of t.toolCalls) content.push({ type: 'tool_use', id: c.id, name: c.name, input: c.input });
  sendJson(res, 200, message(newId('msg_'), model, content, t.stopReason, t.usage), { 'request-id': requestId });
};

/**
 * The documented event sequence: `message_start`, then per content block `content_block_start`,
 * deltas (`thinking_delta` + `signature_delta`, `text_delta`, `input_json_delta`) and
 * `content_block_stop` (a `ping` after the first block starts), then `message_delta` with the stop
 * reason and usage, and `message_stop`. A scripted stream error ends it with `event: error`.
 */
export const streamAnthropicMessage = async (res: ServerResponse, t: ReadyTurn, model: string, requestId: string): Promise<void> => {
  startSse(res, { 'request-id': requestId });
  let first = true;
  const send = async (event: string, data: Record<string, unknown>): Promise<void> => {
    if (res.destroyed) return;
    if (!first) await sleep(t.chunkDelayMs, res);
    first = false;
    if (!res.destroyed) res.write(`event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`);
  };
  await send('message_start', { message: message(newId('msg_'), model, [], null, { ...t.usage, output_tokens: 1 }) });
  let index = 0;
  const block = async (start: Record<string, unknown>, deltas: Record<string, unknown>[]): Promise<void> => {
    await send('content_block_start', { index, content_block: start });
    if (index === 0) await send('ping', {});
    for (const delta of deltas) await send('content_block_delta', { index, delta });
    await send('content_block_stop', { index });
    index += 1;
  };
  if (t.thinking !== undefined) {
    await block({ type: 'thinking', thinking: '', signature: '' }, [
      { type: 'thinking_delta', thinking: t.thinking },
      { type: 'signature_delta', signature: signature(t.thinking) },
    ]);
  }
  if (t.chunks.length > 0)
    await block(
      { type: 'text', text: '' },
      t.chunks.map((text) => ({ type: 'text_delta', text })),
    );
  for (const c of t.toolCalls) {
    await block(
      { type: 'tool_use', id: c.id, name: c.name, input: {} },
      jsonPieces(JSON.stringify(c.input)).map((partial_json) => ({ type: 'input_json_delta', partial_json })),
    );
  }
  if (t.streamError) {
    const type = t.streamError.type ?? 'overloaded_error';
    await send('error', { error: { type, message: t.streamError.message ?? ERROR_MESSAGES[type] ?? type } });
  } else {
    await send('message_delta', { delta: { stop_reason: t.stopReason, stop_sequence: null }, usage: t.usage });
    await send('message_stop', {});
  }
  if (!res.destroyed) res.end();
};

/** `GET /v1/models` as Anthropic lists them (the `Page` shape). */
export const anthropicModelList = (ids: string[]) => ({
  data: ids.map((id) => ({ type: 'model', id, display_name: id, created_at: '2026-01-01T00:00:00Z' })),
  has_more: false,
  first_id: ids[0] ?? null,
  last_id: ids[ids.length - 1] ?? null,
});
