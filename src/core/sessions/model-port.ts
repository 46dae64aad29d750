/**
 * What the runtime needs from a model provider (an adapter per protocol: Anthropic Messages,
 * OpenAI chat/completions): one streamed request in a neutral shape, deltas as they come, and
 * the final answer. Errors the provider reports become ModelCallError values the runtime retries.
 */
import type { ListPrice } from './budget.js';

export type ModelBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> }
  | { type: 'tool_result'; tool_use_id: string; content: Array<Record<string, unknown>>; is_error: boolean }
  | { type: 'image' | 'document'; source: Record<string, unknown> };

export interface ModelMessage {
  role: 'user' | 'assistant';
  content: ModelBlock[];
}

export interface ModelToolDefinition {
  name: string;
  description: string;
  input_schema: Record<string, unknown>;
}

export interface ModelRequest {
  model: string;
  system: string | null;
  messages: ModelMessage[];
  tools: ModelToolDefinition[];
  maxTokens: number;
}

export interface ModelUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
}

export interface ModelAnswer {
  /** Text blocks in order. */
  text: string[];
  toolUses: Array<{ name: string; input: Record<string, unknown> }>;
  stopReason: string;
  usage: ModelUsage;
}

export interface ModelStreamHandlers {
  /** A piece of the answer's text (`index`: which text block). */
  onText(delta: string, index: number): void;
  onThinking?(delta: string): void;
}

export type ModelErrorKind = 'rate_limited' | 'overloaded' | 'failed' | 'unreachable' | 'refused';

/** A failed model call: `retryable` says whether trying again may help (429, 5xx, overloaded, lost connection). */
export class ModelCallError extends Error {
  override readonly name = 'ModelCallError';
  constructor(
    readonly kind: ModelErrorKind,
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export interface ModelClient {
  stream(req: ModelRequest, handlers: ModelStreamHandlers, signal: AbortSignal): Promise<ModelAnswer>;
}

/** A model card's cleartext credentials, as the worker resolves them. */
export interface ModelEndpoint {
  provider: 'ant' | 'ant-compatible' | 'oai' | 'oai-compatible';
  baseUrl: string;
  model: string;
  apiKey: string;
  headers: Record<string, string>;
  /** The card's list price (budgets), when it has one. */
  listPrice?: ListPrice;
}

/** Makes the client for one endpoint (the app wires the adapters, each given the egress policy's fetch). */
export type ModelClientFactory = (endpoint: ModelEndpoint) => ModelClient;
