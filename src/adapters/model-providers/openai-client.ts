import type OpenAI from 'openai';
import type { ModelAnswer, ModelBlock, ModelClient, ModelEndpoint, ModelMessage, ModelRequest, ModelStreamHandlers } from '../../core/sessions/model-port.js';
import { modelCallError } from './errors.js';

/** OpenAI-compatible endpoints are documented with `/v1`; a bare host gets it added. */
export const openAiBaseUrl = (baseUrl: string): string => {
  const u = baseUrl.replace(/\/+$/, '');
  return new URL(u).pathname === '/' || new URL(u).pathname === '' ? `${u}/v1` : u;
};

type ChatMessage = OpenAI.Chat.Completions.ChatCompletionMessageParam;

const textOf = (content: Array<Record<string, unknown>>): string => content.map((c) => (c.type === 'text' && typeof c.text === 'string' ? c.text : `[${String(c.type)}]`)).join('\n');

const userPart = (b: ModelBlock): OpenAI.Chat.Completions.ChatCompletionContentPart | undefined => {
  if (b.type === 'text') return { type: 'text', text: b.text };
  if (b.type === 'image') {
    const s = b.source;
    const url = s.type === 'base64' ? `data:${String(s.media_type)};base64,${String(s.data)}` : String(s.url ?? '');
    return { type: 'image_url', image_url: { url } };
  }
  return undefined;
};

/** The neutral conversation as chat/completions messages: tool results become `tool` messages. */
export const toOpenAiMessages = (system: string | null, messages: ModelMessage[]): ChatMessage[] => {
  const out: ChatMessage[] = system ? [{ role: 'system', content: system }] : [];
  for (const m of messages) {
    if (m.role === 'assistant') {
      const text = m.content.flatMap((b) => (b.type === 'text' ? [b.text] : [])).join('');
      const calls = m.content.flatMap((b) => (b.type === 'tool_use' ? [{ id: b.id, type: 'function' as const, function: { name: b.name, arguments: JSON.stringify(b.input) } }] : []));
      out.push({ role: 'assistant', content: text || null, ...(calls.length > 0 ? { tool_calls: calls } : {}) });
      continue;
    }
    for (const b of m.content) if (b.type === 'tool_result') out.push({ role: 'tool', tool_call_id: b.tool_use_id, content: (b.is_error ? 'Error: ' : '') + textOf(b.content) });
    const parts = m.content.map(userPart).filter((p): p is OpenAI.Chat.Completions.ChatCompletionContentPart => p !== undefined);
    if (parts.length > 0) out.push({ role: 'user', content: parts.every((p) => p.type === 'text') ? parts.map((p) => (p as { text: string }).text).join('\n\n') : parts });
  }
  return out;
};

/**
 * OpenAI-compatible chat/completions (`oai`, `oai-compatible`) through the official `openai`
 * package, streaming with usage, through the egress policy's fetch; retries are the runtime's.
 */
export const openAiClient = (endpoint: ModelEndpoint, fetch: typeof globalThis.fetch): ModelClient => {
  // The SDK is loaded on the first call: a registry that never runs a session does not carry it.
  let made: Promise<OpenAI> | undefined;
  const sdk = () =>
    (made ??= import('openai').then(
      ({ default: OpenAI }) => new OpenAI({ apiKey: endpoint.apiKey, baseURL: openAiBaseUrl(endpoint.baseUrl), defaultHeaders: endpoint.headers, fetch, maxRetries: 0, timeout: 300_000 }),
    ));
  return {
    async stream(req: ModelRequest, handlers: ModelStreamHandlers, signal: AbortSignal): Promise<ModelAnswer> {
      try {
        const client = await sdk();
        const stream = await client.chat.completions.create(
          {
            model: req.model,
            max_tokens: req.maxTokens,
            messages: toOpenAiMessages(req.system, req.messages),
            stream: true,
            stream_options: { include_usage: true },
            ...(req.tools.length > 0 ? { tools: req.tools.map((t) => ({ type: 'function' as const, function: { name: t.name, description: t.description, parameters: t.input_schema } })) } : {}),
          },
          { signal },
        );
        let text = '';
        let finish = 'stop';
        const calls: Array<{ name: string; args: string }> = [];
        let usage = { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };
        for await (const chunk of stream) {
          const choice = chunk.choices[0];
          if (choice?.delta?.content) {
            text += choice.delta.content;
            handlers.onText(choice.delta.content, 0);
          }
          for (const tc of choice?.delta?.tool_calls ?? []) {
            const c = (calls[tc.index] ??= { name: '', args: '' });
            if (tc.function?.name) c.name += tc.function.name;
            if (tc.function?.arguments) c.args += tc.function.arguments;
          }
          if (choice?.finish_reason) finish = choice.finish_reason;
          if (chunk.usage) {
            usage = {
              input_tokens: chunk.usage.prompt_tokens ?? 0,
              output_tokens: chunk.usage.completion_tokens ?? 0,
              cache_read_input_tokens: chunk.usage.prompt_tokens_details?.cached_tokens ?? 0,
              cache_creation_input_tokens: 0,
            };
          }
        }
        const toolUses = calls.filter(Boolean).map((c) => {
          let input: Record<string, unknown> = {};
          try {
            const parsed: unknown = JSON.parse(c.args || '{}');
            if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) input = parsed as Record<string, unknown>;
          } catch {
            input = { _unparsed_arguments: c.args };
          }
          return { name: c.name, input };
        });
        return { text: text ? [text] : [], toolUses, stopReason: finish === 'tool_calls' ? 'tool_use' : finish === 'length' ? 'max_tokens' : 'end_turn', usage };
      } catch (e) {
        if (signal.aborted) throw e;
        throw modelCallError(e, 'The OpenAI-compatible provider');
      }
    },
  };
};
