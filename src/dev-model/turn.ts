/**
 * What the dev model answers to one request: text (streamed in the given chunks), optional thinking,
 * tool calls, usage and a stop reason, or an error with a status. The same turn is rendered in
 * whichever protocol the request came in (Anthropic Messages or OpenAI chat/completions).
 */
export interface ToolCall {
  /** Defaults to a generated `toolu_…` (Anthropic) or `call_…` (OpenAI) id. */
  id?: string;
  name: string;
  input: Record<string, unknown>;
}

export type StopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'pause_turn' | 'refusal';

export interface Usage {
  input_tokens?: number;
  output_tokens?: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
}

export interface TurnError {
  /** HTTP status: 429 rate limit, 529 overloaded, 500, 400, 401, … */
  status: number;
  /** The provider's error type; defaults from the status (`rate_limit_error`, `overloaded_error`, …). */
  type?: string;
  message?: string;
  /** Sent as `retry-after` (seconds). */
  retryAfter?: number;
  /** Sent as `retry-after-ms`, which both official SDKs read before `retry-after`. */
  retryAfterMs?: number;
}

export interface Turn {
  /** One string, or the chunks to stream it in. */
  text?: string | string[];
  /** An Anthropic `thinking` block before the text (OpenAI requests leave it out). */
  thinking?: string;
  toolCalls?: ToolCall[];
  /** Defaults to `tool_use` when there are tool calls, else `end_turn`. */
  stopReason?: StopReason;
  /** Defaults to a count of about 4 characters a token. */
  usage?: Usage;
  /** Wait this long before answering at all. */
  delayMs?: number;
  /** Wait this long between stream events. */
  chunkDelayMs?: number;
  /** Answer with this error instead of a message. */
  error?: TurnError;
  /** Stream the content, then fail with this error event instead of finishing the message. */
  streamError?: { type?: string; message?: string };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const STOP_REASONS: readonly string[] = ['end_turn', 'max_tokens', 'stop_sequence', 'tool_use', 'pause_turn', 'refusal'];
const TURN_KEYS = new Set(['text', 'thinking', 'toolCalls', 'stopReason', 'usage', 'delayMs', 'chunkDelayMs', 'error', 'streamError']);

const nonNegative = (v: unknown): boolean => v === undefined || (typeof v === 'number' && Number.isFinite(v) && v >= 0);

/** Checks one scripted turn; answers the problems found, each naming the field. */
export const turnProblems = (t: unknown, at: string): string[] => {
  if (!isObject(t)) return [`${at}: a turn is an object`];
  const problems: string[] = [];
  for (const k of Object.keys(t)) if (!TURN_KEYS.has(k)) problems.push(`${at}.${k}: unknown field`);
  if (t.text !== undefined && typeof t.text !== 'string' && !(Array.isArray(t.text) && t.text.every((c) => typeof c === 'string'))) problems.push(`${at}.text: a string or a list of strings`);
  if (t.thinking !== undefined && typeof t.thinking !== 'string') problems.push(`${at}.thinking: a string`);
  if (t.toolCalls !== undefined) {
    if (!Array.isArray(t.toolCalls)) problems.push(`${at}.toolCalls: a list`);
    else
      t.toolCalls.forEach((c, i) => {
        if (!isObject(c) || typeof c.name !== 'string' || c.name === '' || !isObject(c.input) || (c.id !== undefined && typeof c.id !== 'string')) {
          problems.push(`${at}.toolCalls[${i}]: {name: string, input: object, id?: string}`);
        }
      });
  }
  if (t.stopReason !== undefined && !STOP_REASONS.includes(t.stopReason as string)) problems.push(`${at}.stopReason: one of ${STOP_REASONS.join(', ')}`);
  if (t.usage !== undefined && (!isObject(t.usage) || !Object.values(t.usage).every((n) => Number.isInteger(n) && (n as number) >= 0))) problems.push(`${at}.usage: token counts, whole numbers ≥ 0`);
  for (const k of ['delayMs', 'chunkDelayMs'] as const) if (!nonNegative(t[k])) problems.push(`${at}.${k}: a number of milliseconds ≥ 0`);
  if (t.error !== undefined) {
    const e = t.error;
    if (!isObject(e) || !Number.isInteger(e.status) || (e.status as number) < 400 || (e.status as number) > 599) problems.push(`${at}.error.status: an HTTP error status (400–599)`);
    else {
      if (e.type !== undefined && typeof e.type !== 'string') problems.push(`${at}.error.type: a string`);
      if (e.message !== undefined && typeof e.message !== 'string') problems.push(`${at}.error.message: a string`);
      if (!nonNegative(e.retryAfter) || !nonNegative(e.retryAfterMs)) problems.push(`${at}.error.retryAfter/retryAfterMs: numbers ≥ 0`);
    }
  }
  if (t.streamError !== undefined && !isObject(t.streamError)) problems.push(`${at}.streamError: {type?, message?}`);
  return problems;
};

/** The text of a turn as the chunks to stream. */
export const textChunks = (t: Turn): string[] => (t.text === undefined ? [] : typeof t.text === 'string' ? (t.text === '' ? [] : [t.text]) : t.text.filter((c) => c !== ''));

/** About 4 characters a token: deterministic, and close enough to make budgets meaningful. */
export const countTokens = (text: string): number => Math.ceil(text.length / 4);
