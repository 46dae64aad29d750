import type { ServerResponse } from 'node:http';
import type { Conversation, ConversationMessage } from './conversation.js';
import type { TurnError } from './turn.js';
import { jsonPieces, newId, sendJson, sleep, startSse, type ReadyTurn } from './wire.js';

/**
 * OpenAI chat/completions (`POST /v1/chat/completions`) as documented at platform.openai.com: the
 * request checks, the completion object, the `data: {chunk}` stream ending with `data: [DONE]`, and
 * the `{error: {message, type, param, code}}` error shape.
 */
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const ERRORS: Record<number, { type: string; code: string | null; message: string }> = {
  400: { type: 'invalid_request_error', code: null, message: 'Invalid request' },
  401: { type: 'invalid_request_error', code: 'invalid_api_key', message: 'Incorrect API key provided.' },
  403: { type: 'invalid_request_error', code: 'unsupported_country_region_territory', message: 'Forbidden' },
  404: { type: 'invalid_request_error', code: 'model_not_found', message: 'The model does not exist or you do not have access to it.' },
  429: { type: 'requests', code: 'rate_limit_exceeded', message: 'Rate limit reached for requests. Please try again later.' },
  500: { type: 'server_error', code: null, message: 'The server had an error while processing your request. Sorry about that!' },
  503: { type: 'server_error', code: null, message: 'The engine is currently overloaded, please try again later.' },
  529: { type: 'server_error', code: 'overloaded', message: 'The engine is currently overloaded, please try again later.' },
};

const errorOf = (e: { status: number; type?: string; message?: string }, param: string | null = null, code?: string | null) => {
  const d = ERRORS[e.status] ?? (e.status >= 500 ? ERRORS[500] : ERRORS[400]);
  return { error: { message: e.message ?? d.message, type: e.type ?? d.type, param, code: code === undefined ? d.code : code } };
};

export const sendOpenAiError = (res: ServerResponse, e: TurnError, requestId: string, param: string | null = null, code?: string | null): void => {
  const headers: Record<string, string> = { 'x-request-id': requestId };
  if (e.retryAfter !== undefined) headers['retry-after'] = String(e.retryAfter);
  if (e.retryAfterMs !== undefined) headers['retry-after-ms'] = String(e.retryAfterMs);
  sendJson(res, e.status, errorOf(e, param, code), headers);
};

export interface ParsedOpenAi {
  conversation: Conversation;
  stream: boolean;
  includeUsage: boolean;
}

export interface OpenAiProblem {
  problem: string;
  param: string | null;
  code: string | null;
}

const partText = (content: unknown): string => {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((p) => (isObject(p) && p.type === 'text' && typeof p.text === 'string' ? p.text : '')).join('');
};

const bad = (problem: string, param: string | null, code: string | null = null): OpenAiProblem => ({ problem, param, code });

/** Reads a chat/completions request; problems are answered as the API's 400s. */
export const parseOpenAiRequest = (body: unknown): ParsedOpenAi | OpenAiProblem => {
  if (!isObject(body)) return bad('We could not parse the JSON body of your request.', null);
  if (typeof body.model !== 'string' || body.model === '') return bad('you must provide a model parameter', null);
  if (body.messages === undefined) return bad("Missing required parameter: 'messages'.", 'messages', 'missing_required_parameter');
  if (!Array.isArray(body.messages) || body.messages.length === 0) return bad("Invalid 'messages': expected a non-empty array.", 'messages', 'invalid_type');
  if (body.stream !== undefined && typeof body.stream !== 'boolean') return bad("Invalid type for 'stream': expected a boolean.", 'stream', 'invalid_type');
  const limit = body.max_completion_tokens ?? body.max_tokens;
  if (limit !== undefined && limit !== null && (!Number.isInteger(limit) || (limit as number) < 1))
    return bad("Invalid 'max_tokens': integer below minimum value.", 'max_tokens', 'integer_below_min_value');
  if (body.tools !== undefined && !Array.isArray(body.tools)) return bad("Invalid type for 'tools': expected an array.", 'tools', 'invalid_type');
  const tools: string[] = [];
  for (const [i, t] of ((body.tools as unknown[] | undefined) ?? []).entries()) {
    if (!isObject(t) || t.type !== 'function' || !isObject(t.function) || typeof t.function.name !== 'string' || t.function.name === '') {
      return bad(`Missing required parameter: 'tools[${i}].function.name'.`, `tools[${i}].function.name`, 'missing_required_parameter');
    }
    tools.push(t.function.name);
  }
  const names = new Map<string, string>();
  const messages: ConversationMessage[] = [];
  const system: string[] = [];
  const texts: string[] = [];
  for (const [i, m] of body.messages.entries()) {
    if (!isObject(m) || typeof m.role !== 'string') return bad(`Missing required parameter: 'messages[${i}].role'.`, `messages[${i}].role`, 'missing_required_parameter');
    const text = partText(m.content);
    texts.push(text);
    switch (m.role) {
      case 'system':
      case 'developer':
        system.push(text);
        break;
      case 'user':
        messages.push({ role: 'user', text, toolResults: [] });
        break;
      case 'assistant': {
        for (const [j, c] of (Array.isArray(m.tool_calls) ? m.tool_calls : []).entries()) {
          if (!isObject(c) || typeof c.id !== 'string' || !isObject(c.function) || typeof c.function.name !== 'string') {
            return bad(`Invalid 'messages[${i}].tool_calls[${j}]': needs id and function.name.`, `messages[${i}].tool_calls[${j}]`, 'invalid_value');
          }
          names.set(c.id, c.function.name);
          texts.push(c.function.name, String(c.function.arguments ?? ''));
        }
        messages.push({ role: 'assistant', text, toolResults: [] });
        break;
      }
      case 'tool': {
        if (typeof m.tool_call_id !== 'string') return bad(`Missing required parameter: 'messages[${i}].tool_call_id'.`, `messages[${i}].tool_call_id`, 'missing_required_parameter');
        if (!names.has(m.tool_call_id)) {
          return bad(`Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.`, `messages.[${i}].role`, null);
        }
        const result = { toolCallId: m.tool_call_id, name: names.get(m.tool_call_id), content: text, isError: false };
        const prev = messages[messages.length - 1];
        if (prev && prev.role === 'user' && prev.toolResults.length > 0) prev.toolResults.push(result);
        else messages.push({ role: 'user', text: '', toolResults: [result] });
        break;
      }
      default:
        return bad(`Invalid value: '${m.role.slice(0, 40)}'. Supported values are: 'system', 'developer', 'user', 'assistant' and 'tool'.`, `messages[${i}].role`, 'invalid_value');
    }
  }
  const options = isObject(body.stream_options) ? body.stream_options : {};
  return {
    conversation: { model: body.model, system: system.join('\n'), messages, tools, maxTokens: typeof limit === 'number' ? limit : undefined, allText: texts.join('\n') },
    stream: body.stream === true,
    includeUsage: options.include_usage === true,
  };
};

const FINISH: Record<ReadyTurn['stopReason'], string> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

const usageOf = (t: ReadyTurn) => ({
  prompt_tokens: t.usage.input_tokens,
  completion_tokens: t.usage.output_tokens,
  total_tokens: t.usage.input_tokens + t.usage.output_tokens,
  prompt_tokens_details: { cached_tokens: t.usage.cache_read_input_tokens },
});

const created = (): number => Math.floor(Date.now() / 1000);

/** The whole completion at once. */
export const sendOpenAiCompletion = (res: ServerResponse, t: ReadyTurn, model: string, requestId: string): void => {
  const text = t.chunks.join('');
  const message: Record<string, unknown> = { role: 'assistant', content: text === '' && t.toolCalls.length > 0 ? null : text, refusal: null };
  if (t.toolCalls.length > 0) message.tool_calls = t.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.input) } }));
  sendJson(
    res,
    200,
    {
      id: newId('chatcmpl-'),
      object: 'chat.completion',
      created: created(),
      model,
      choices: [{ index: 0, message, logprobs: null, finish_reason: FINISH[t.stopReason] }],
      usage: usageOf(t),
      system_fingerprint: null,
    },
    { 'x-request-id': requestId },
  );
};

/**
 * The stream: `data: {chunk}` lines (no `event:` names), the role first, then content deltas and
 * `tool_calls` deltas (id, type and name in the first delta of each call, then `arguments` pieces),
 * a chunk with `finish_reason`, the usage chunk (`choices: []`) when `stream_options.include_usage`,
 * and `data: [DONE]`. A scripted stream error is sent as `data: {"error": …}`, as the API does.
 */
export const streamOpenAiCompletion = async (res: ServerResponse, t: ReadyTurn, model: string, requestId: string, includeUsage: boolean): Promise<void> => {
  startSse(res, { 'x-request-id': requestId });
  const id = newId('chatcmpl-');
  const at = created();
  let first = true;
  const write = async (data: unknown): Promise<void> => {
    if (res.destroyed) return;
    if (!first) await sleep(t.chunkDelayMs, res);
    first = false;
    if (!res.destroyed) res.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
  };
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
    id,
    object: 'chat.completion.chunk',
    created: at,
    model,
    system_fingerprint: null,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...(includeUsage ? { usage: null } : {}),
  });
  await write(chunk({ role: 'assistant', content: '', refusal: null }));
  for (const content of t.chunks) await write(chunk({ content }));
  for (const [index, c] of t.toolCalls.entries()) {
    await write(chunk({ tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.name, arguments: '' } }] }));
    for (const args of jsonPieces(JSON.stringify(c.input))) await write(chunk({ tool_calls: [{ index, function: { arguments: args } }] }));
  }
  if (t.streamError) {
    await write(errorOf({ status: 500, type: t.streamError.type ?? 'server_error', message: t.streamError.message }));
    if (!res.destroyed) res.end();
    return;
  }
  await write(chunk({}, FINISH[t.stopReason]));
  if (includeUsage) await write({ id, object: 'chat.completion.chunk', created: at, model, system_fingerprint: null, choices: [], usage: usageOf(t) });
  await write('[DONE]');
  if (!res.destroyed) res.end();
};

/** `GET /v1/models` as OpenAI lists them. */
export const openAiModelList = (ids: string[]) => ({ object: 'list', data: ids.map((id) => ({ id, object: 'model', created: 1767225600, owned_by: 'agentry-dev-model' })) });
