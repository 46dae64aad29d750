import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sseFrames, startTestModel, type DevModel } from '../helpers/dev-model.js';

/** The dev model's OpenAI chat/completions door, driven by the official `openai` package and raw HTTP. */
describe('dev model: OpenAI chat/completions', () => {
  let model: DevModel;
  let client: OpenAI;
  const weather: OpenAI.Chat.ChatCompletionTool = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } };

  beforeAll(async () => {
    model = await startTestModel({ models: { openai: ['gpt-dev', 'local-llama'] } });
    client = new OpenAI({ apiKey: 'sk-dev-anything', baseURL: model.openaiBaseUrl, maxRetries: 0 });
  });
  afterAll(() => model?.close());
  beforeEach(() => model.reset());

  it('answers a non-streaming completion from the prompt, with usage', async () => {
    const c = await client.chat.completions.create({
      model: 'gpt-dev',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hello there' },
      ],
    });
    expect(c).toMatchObject({ object: 'chat.completion', model: 'gpt-dev' });
    expect(c.id).toMatch(/^chatcmpl-/);
    expect(c.choices).toHaveLength(1);
    expect(c.choices[0]).toMatchObject({ index: 0, finish_reason: 'stop', message: { role: 'assistant' } });
    expect(c.choices[0].message.content).toContain('You said: "hello there".');
    expect(c.usage!.total_tokens).toBe(c.usage!.prompt_tokens + c.usage!.completion_tokens);
    expect(c.usage!.prompt_tokens).toBeGreaterThan(0);
    expect(model.requests[0]).toMatchObject({ protocol: 'openai', path: '/v1/chat/completions', status: 200 });
  });

  it('streams data: chunks ending with [DONE], usage last when stream_options.include_usage', async () => {
    model.script([{ text: ['Hel', 'lo'], usage: { input_tokens: 9, output_tokens: 2 } }]);
    const res = await fetch(`${model.openaiBaseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer k' },
      body: JSON.stringify({ model: 'gpt-dev', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const frames = await sseFrames(res);
    expect(frames.every((f) => f.event === null)).toBe(true);
    expect(frames.at(-1)!.data).toBe('[DONE]');
    const chunks = frames.slice(0, -1).map((f) => JSON.parse(f.data));
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0].id)).toBe(true);
    expect(chunks.map((c) => c.choices[0]?.delta)).toEqual([{ role: 'assistant', content: '', refusal: null }, { content: 'Hel' }, { content: 'lo' }, {}, undefined]);
    expect(chunks.at(-2).choices[0].finish_reason).toBe('stop');
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 } });

    const sdk = await client.chat.completions.create({ model: 'gpt-dev', stream: true, messages: [{ role: 'user', content: 'count the words' }] });
    const parts: string[] = [];
    for await (const chunk of sdk) {
      expect(chunk).not.toHaveProperty('usage');
      parts.push(chunk.choices[0]?.delta.content ?? '');
    }
    expect(parts.join('')).toContain('You said: "count the words".');
  });

  it('runs a tool round trip through the SDK stream helper: tool_calls deltas, then the result in words', async () => {
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: '/tool get_weather {"city": "Paris"}' }];
    const first = await client.chat.completions.stream({ model: 'gpt-dev', tools: [weather], messages, stream_options: { include_usage: true } }).finalChatCompletion();
    expect(first.choices[0].finish_reason).toBe('tool_calls');
    const call = first.choices[0].message.tool_calls![0] as OpenAI.Chat.ChatCompletionMessageFunctionToolCall;
    expect(call.id).toMatch(/^call_/);
    expect(call.function.name).toBe('get_weather');
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Paris' });
    expect(first.usage!.completion_tokens).toBeGreaterThan(0);
    messages.push(first.choices[0].message as OpenAI.Chat.ChatCompletionAssistantMessageParam, { role: 'tool', tool_call_id: call.id, content: '18°C and sunny' });
    const second = await client.chat.completions.create({ model: 'gpt-dev', tools: [weather], messages });
    expect(second.choices[0].finish_reason).toBe('stop');
    expect(second.choices[0].message.content).toBe('The get_weather tool returned: 18°C and sunny');
  });

  it('renders a scripted turn with several tool calls, non-streaming', async () => {
    model.script([
      {
        toolCalls: [
          { id: 'call_a', name: 'get_weather', input: { city: 'Oslo' } },
          { name: 'get_weather', input: { city: 'Rome' } },
        ],
      },
    ]);
    const c = await client.chat.completions.create({ model: 'gpt-dev', tools: [weather], messages: [{ role: 'user', content: 'both' }] });
    expect(c.choices[0].message.content).toBeNull();
    expect(c.choices[0].finish_reason).toBe('tool_calls');
    const calls = c.choices[0].message.tool_calls as OpenAI.Chat.ChatCompletionMessageFunctionToolCall[];
    expect(calls.map((x) => [x.id.startsWith('call_'), x.type, x.function.name, JSON.parse(x.function.arguments)])).toEqual([
      [true, 'function', 'get_weather', { city: 'Oslo' }],
      [true, 'function', 'get_weather', { city: 'Rome' }],
    ]);
    expect(calls[0].id).toBe('call_a');
  });

  it('is retried by the SDK on 429 with retry-after, and answers the documented error shape', async () => {
    model.script([{ error: { status: 429, retryAfterMs: 30 } }, { text: 'ok now' }]);
    const retrying = new OpenAI({ apiKey: 'k', baseURL: model.openaiBaseUrl, maxRetries: 2 });
    const c = await retrying.chat.completions.create({ model: 'gpt-dev', messages: [{ role: 'user', content: 'hi' }] });
    expect(c.choices[0].message.content).toBe('ok now');
    expect(model.requests.map((r) => r.status)).toEqual([429, 200]);

    model.script([{ error: { status: 429, retryAfter: 3 } }]);
    const err = await client.chat.completions.create({ model: 'gpt-dev', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const e = err as InstanceType<typeof OpenAI.APIError>;
    expect(e.status).toBe(429);
    expect(e.headers?.get('retry-after')).toBe('3');
    expect(e.error).toEqual({ message: expect.any(String), type: 'requests', param: null, code: 'rate_limit_exceeded' });
  });

  it('fails a stream mid-way with a data: {"error": …} frame, which the SDK throws', async () => {
    model.script([{ text: ['partial'], streamError: { message: 'The server had an error' } }]);
    const stream = await client.chat.completions.create({ model: 'gpt-dev', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    const parts: string[] = [];
    await expect(
      (async () => {
        for await (const chunk of stream) parts.push(chunk.choices[0]?.delta.content ?? '');
      })(),
    ).rejects.toThrow(/The server had an error/);
    expect(parts.join('')).toBe('partial');
  });

  it('answers malformed requests with 400 {error: {message, type, param, code}}', async () => {
    const post = (body: string) => fetch(`${model.openaiBaseUrl}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer k' }, body });
    const cases: Array<[string, string | null, string | null]> = [
      ['{nope', null, null],
      [JSON.stringify({ messages: [{ role: 'user', content: 'x' }] }), null, null],
      [JSON.stringify({ model: 'm' }), 'messages', 'missing_required_parameter'],
      [JSON.stringify({ model: 'm', messages: [] }), 'messages', 'invalid_type'],
      [JSON.stringify({ model: 'm', messages: [{ role: 'wizard', content: 'x' }] }), 'messages[0].role', 'invalid_value'],
      [JSON.stringify({ model: 'm', messages: [{ role: 'tool', tool_call_id: 'call_x', content: 'x' }] }), 'messages.[0].role', null],
      [JSON.stringify({ model: 'm', max_tokens: -1, messages: [{ role: 'user', content: 'x' }] }), 'max_tokens', 'integer_below_min_value'],
      [JSON.stringify({ model: 'm', tools: [{ type: 'function', function: {} }], messages: [{ role: 'user', content: 'x' }] }), 'tools[0].function.name', 'missing_required_parameter'],
    ];
    for (const [body, param, code] of cases) {
      const res = await post(body);
      expect(res.status, body).toBe(400);
      expect(await res.json(), body).toEqual({ error: { message: expect.any(String), type: 'invalid_request_error', param, code } });
    }
    const sdkErr = await client.chat.completions.create({ model: 'm' } as never).catch((e: unknown) => e);
    expect(sdkErr).toBeInstanceOf(OpenAI.BadRequestError);
    expect(sdkErr).toMatchObject({ param: 'messages', code: 'missing_required_parameter', type: 'invalid_request_error' });
  });

  it('checks the key when started with one, and lists models', async () => {
    const locked = await startTestModel({ apiKey: 'sk-right', models: { openai: ['gpt-a'] } });
    try {
      const wrong = new OpenAI({ apiKey: 'sk-wrong', baseURL: locked.openaiBaseUrl, maxRetries: 0 });
      const err = await wrong.models.list().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
      expect(err).toMatchObject({ code: 'invalid_api_key' });
      expect(JSON.stringify((err as InstanceType<typeof OpenAI.APIError>).error)).not.toContain('sk-wrong');
      const right = new OpenAI({ apiKey: 'sk-right', baseURL: locked.openaiBaseUrl, maxRetries: 0 });
      const ids: string[] = [];
      for await (const m of right.models.list()) ids.push(m.id);
      expect(ids).toEqual(['gpt-a']);
      const noKey = await fetch(`${locked.openaiBaseUrl}/chat/completions`, { method: 'POST', body: '{}' });
      expect(noKey.status).toBe(401);
      expect(((await noKey.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
    } finally {
      await locked.close();
    }
  });

  it('takes scripts over HTTP on the control endpoint and refuses malformed ones', async () => {
    const bad = await fetch(`${model.url}/_dev-model/script`, { method: 'POST', body: JSON.stringify({ turns: [{ text: 5, error: { status: 200 }, colour: 'red' }] }) });
    expect(bad.status).toBe(400);
    const problems = ((await bad.json()) as { error: { problems: string[] } }).error.problems;
    expect(problems).toEqual(expect.arrayContaining(['turns[0].colour: unknown field', expect.stringMatching(/^turns\[0\]\.text/), expect.stringMatching(/^turns\[0\]\.error\.status/)]));
    expect(model.pending()).toBe(0);
    const ok = await fetch(`${model.url}/_dev-model/script`, { method: 'POST', body: JSON.stringify({ turns: [{ text: 'scripted over HTTP' }] }) });
    expect(await ok.json()).toEqual({ pending: 1 });
    const c = await client.chat.completions.create({ model: 'gpt-dev', messages: [{ role: 'user', content: 'hi' }] });
    expect(c.choices[0].message.content).toBe('scripted over HTTP');
    const seen = (await (await fetch(`${model.url}/_dev-model/requests`)).json()) as { data: unknown[] };
    expect(seen.data).toHaveLength(1);
    expect(seen.data[0]).toMatchObject({ protocol: 'openai', scripted: true, headers: { authorization: '[redacted]' }, body: { model: 'gpt-dev' } });
    expect(JSON.stringify(seen)).not.toContain('sk-dev-anything');
  });
});
