import type Anthropic from '@anthropic-ai/sdk';
import type { ModelAnswer, ModelClient, ModelEndpoint, ModelMessage, ModelRequest, ModelStreamHandlers } from '../../core/sessions/model-port.js';
import { modelCallError } from './errors.js';

/** Anthropic documents its base URL without `/v1` (the SDK adds it); a card that includes it works too. */
export const anthropicBaseUrl = (baseUrl: string): string => baseUrl.replace(/\/+$/, '').replace(/\/v1$/, '');

const toAnthropic = (m: ModelMessage): Anthropic.MessageParam => ({
  role: m.role,
  content: m.content.map((b): Anthropic.ContentBlockParam => {
    switch (b.type) {
      case 'text':
        return { type: 'text', text: b.text };
      case 'tool_use':
        return { type: 'tool_use', id: b.id, name: b.name, input: b.input };
      case 'tool_result':
        return { type: 'tool_result', tool_use_id: b.tool_use_id, is_error: b.is_error, content: b.content as unknown as Anthropic.ToolResultBlockParam['content'] };
      default:
        return { type: b.type, source: b.source } as unknown as Anthropic.ContentBlockParam;
    }
  }),
});

/**
 * Anthropic Messages (`ant`, `ant-compatible`) through the official SDK, streaming, with the
 * egress policy's fetch. The SDK does not retry: the runtime does, and says so in session.error.
 */
export const anthropicClient = (endpoint: ModelEndpoint, fetch: typeof globalThis.fetch): ModelClient => {
  // The SDK is loaded on the first call: a registry that never runs a session does not carry it.
  let made: Promise<Anthropic> | undefined;
  const sdk = () =>
    (made ??= import('@anthropic-ai/sdk').then(
      ({ default: Anthropic }) => new Anthropic({ apiKey: endpoint.apiKey, baseURL: anthropicBaseUrl(endpoint.baseUrl), defaultHeaders: endpoint.headers, fetch, maxRetries: 0, timeout: 300_000 }),
    ));
  return {
    async stream(req: ModelRequest, handlers: ModelStreamHandlers, signal: AbortSignal): Promise<ModelAnswer> {
      try {
        const client = await sdk();
        const stream = client.messages.stream(
          {
            model: req.model,
            max_tokens: req.maxTokens,
            ...(req.system ? { system: req.system } : {}),
            messages: req.messages.map(toAnthropic),
            ...(req.tools.length > 0 ? { tools: req.tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.input_schema as Anthropic.Tool.InputSchema })) } : {}),
          },
          { signal },
        );
        const textIndex = new Map<number, number>();
        for await (const ev of stream) {
          if (ev.type === 'content_block_start' && ev.content_block.type === 'text') textIndex.set(ev.index, textIndex.size);
          if (ev.type === 'content_block_delta') {
            if (ev.delta.type === 'text_delta') handlers.onText(ev.delta.text, textIndex.get(ev.index) ?? 0);
            else if (ev.delta.type === 'thinking_delta') handlers.onThinking?.(ev.delta.thinking);
          }
        }
        const msg = await stream.finalMessage();
        return {
          text: msg.content.flatMap((b) => (b.type === 'text' ? [b.text] : [])),
          toolUses: msg.content.flatMap((b) => (b.type === 'tool_use' ? [{ name: b.name, input: (b.input as Record<string, unknown>) ?? {} }] : [])),
          stopReason: msg.stop_reason ?? 'end_turn',
          usage: {
            input_tokens: msg.usage.input_tokens ?? 0,
            output_tokens: msg.usage.output_tokens ?? 0,
            cache_read_input_tokens: msg.usage.cache_read_input_tokens ?? 0,
            cache_creation_input_tokens: msg.usage.cache_creation_input_tokens ?? 0,
          },
        };
      } catch (e) {
        if (signal.aborted) throw e;
        throw modelCallError(e, 'The Anthropic provider');
      }
    },
  };
};
