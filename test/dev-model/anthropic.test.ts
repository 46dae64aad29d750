import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sseFrames, startTestModel, type DevModel } from '../helpers/dev-model.js';

/** The dev model's Anthropic Messages door, driven by the official SDK and by raw HTTP. */
describe('dev model: Anthropic Messages', () => {
  let model: DevModel;
  let client: Anthropic;
  const weather = { name: 'get_weather', description: 'Weather for a city', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] } };

  beforeAll(async () => {
    model = await startTestModel();
    client = new Anthropic({ apiKey: 'sk-dev-anything', baseURL: model.anthropicBaseUrl, maxRetries: 0 });
  });
  afterAll(() => model?.close());
  beforeEach(() => model.reset());

  it('answers a non-streaming request from the prompt, with usage', async () => {
    const msg = await client.messages.create({ model: 'dev-model', max_tokens: 256, messages: [{ role: 'user', content: 'hello there' }] });
    expect(msg).toMatchObject({ type: 'message', role: 'assistant', model: 'dev-model', stop_reason: 'end_turn', stop_sequence: null });
    expect(msg.id).toMatch(/^msg_/);
    expect(msg.content).toHaveLength(1);
    expect(msg.content[0]).toMatchObject({ type: 'text' });
    expect((msg.content[0] as Anthropic.TextBlock).text).toContain('You said: "hello there".');
    expect(msg.usage.input_tokens).toBeGreaterThan(0);
    expect(msg.usage.output_tokens).toBeGreaterThan(0);
    expect(msg._request_id).toMatch(/^req_/);
    expect(model.requests).toHaveLength(1);
    expect(model.requests[0]).toMatchObject({ protocol: 'anthropic', method: 'POST', path: '/v1/messages', scripted: false, status: 200 });
    expect(model.requests[0].headers.authorization).toBe('[redacted]');
    expect(model.requests[0].body).toMatchObject({ model: 'dev-model', max_tokens: 256 });
  });

  it('streams with .stream(): text deltas arrive in pieces and the final message matches', async () => {
    const stream = client.messages.stream({ model: 'dev-model', max_tokens: 256, messages: [{ role: 'user', content: 'stream me a few words please' }] });
    const pieces: string[] = [];
    stream.on('text', (t) => pieces.push(t));
    const final = await stream.finalMessage();
    expect(pieces.length).toBeGreaterThan(3);
    expect((final.content[0] as Anthropic.TextBlock).text).toBe(pieces.join(''));
    expect(final.stop_reason).toBe('end_turn');
    expect(final.usage.output_tokens).toBeGreaterThan(1);
  });

  it('sends the documented SSE event sequence', async () => {
    model.script([{ thinking: 'Let me think.', text: ['Hel', 'lo'], toolCalls: [{ id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } }], usage: { input_tokens: 11, output_tokens: 7 } }]);
    const res = await fetch(`${model.anthropicBaseUrl}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'k', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'm', max_tokens: 100, stream: true, tools: [weather], messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const frames = await sseFrames(res);
    expect(frames.map((f) => f.event)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      ...frames.filter((f) => f.data.includes('input_json_delta')).map(() => 'content_block_delta'),
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    const data = frames.map((f) => JSON.parse(f.data));
    frames.forEach((f, i) => expect(data[i].type).toBe(f.event));
    expect(data[0].message).toMatchObject({ type: 'message', role: 'assistant', content: [], stop_reason: null, usage: { input_tokens: 11 } });
    expect(data[1]).toEqual({ type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } });
    expect(data[3].delta).toEqual({ type: 'thinking_delta', thinking: 'Let me think.' });
    expect(data[4].delta.type).toBe('signature_delta');
    expect(data[6]).toEqual({ type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } });
    expect(data[7].delta).toEqual({ type: 'text_delta', text: 'Hel' });
    expect(data[10]).toEqual({ type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: {} } });
    const json = data
      .filter((d) => d.delta?.type === 'input_json_delta')
      .map((d) => d.delta.partial_json)
      .join('');
    expect(JSON.parse(json)).toEqual({ city: 'Paris' });
    expect(data.at(-2)).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: { input_tokens: 11, output_tokens: 7, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    });
  });

  it('plays a scripted turn through the SDK stream: thinking, chunks, tool call and exact usage', async () => {
    model.script([
      {
        thinking: 'Hmm.',
        text: ['One ', 'two ', 'three.'],
        toolCalls: [{ name: 'get_weather', input: { city: 'Oslo', days: [1, 2] } }],
        usage: { input_tokens: 1234, output_tokens: 56, cache_read_input_tokens: 7 },
      },
    ]);
    const stream = client.messages.stream({ model: 'claude-x', max_tokens: 1000, tools: [weather], messages: [{ role: 'user', content: 'go' }] });
    const texts: string[] = [];
    stream.on('text', (t) => texts.push(t));
    const final = await stream.finalMessage();
    expect(texts).toEqual(['One ', 'two ', 'three.']);
    expect(final.model).toBe('claude-x');
    expect(final.content.map((b) => b.type)).toEqual(['thinking', 'text', 'tool_use']);
    expect(final.content[2]).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { city: 'Oslo', days: [1, 2] } });
    expect((final.content[2] as Anthropic.ToolUseBlock).id).toMatch(/^toolu_/);
    expect(final.stop_reason).toBe('tool_use');
    expect(final.usage).toMatchObject({ input_tokens: 1234, output_tokens: 56, cache_read_input_tokens: 7 });
    expect(model.requests[0].scripted).toBe(true);
    expect(model.pending()).toBe(0);
  });

  it('runs a tool round trip with the built-in assistant: /tool … then the result in words', async () => {
    const first = await client.messages.create({ model: 'dev-model', max_tokens: 256, tools: [weather], messages: [{ role: 'user', content: '/tool get_weather {"city": "Paris"}' }] });
    expect(first.stop_reason).toBe('tool_use');
    const use = first.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use')!;
    expect(use).toMatchObject({ name: 'get_weather', input: { city: 'Paris' } });
    const second = client.messages.stream({
      model: 'dev-model',
      max_tokens: 256,
      tools: [weather],
      messages: [
        { role: 'user', content: '/tool get_weather {"city": "Paris"}' },
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '18°C and sunny' }] },
      ],
    });
    const final = await second.finalMessage();
    expect(final.stop_reason).toBe('end_turn');
    expect((final.content[0] as Anthropic.TextBlock).text).toBe('The get_weather tool returned: 18°C and sunny');
  });

  it('explains a tool that is not offered, or input that is not JSON, in words', async () => {
    const none = await client.messages.create({ model: 'dev-model', max_tokens: 256, tools: [weather], messages: [{ role: 'user', content: '/tool launch_rocket {}' }] });
    expect(none.stop_reason).toBe('end_turn');
    expect((none.content[0] as Anthropic.TextBlock).text).toBe("Tool 'launch_rocket' is not offered. Offered: get_weather.");
    const bad = await client.messages.create({ model: 'dev-model', max_tokens: 256, tools: [weather], messages: [{ role: 'user', content: '/tool get_weather {city: Paris}' }] });
    expect((bad.content[0] as Anthropic.TextBlock).text).toMatch(/^The input for 'get_weather' is not JSON/);
  });

  it('cuts a long answer at max_tokens', async () => {
    const msg = await client.messages.create({ model: 'dev-model', max_tokens: 3, messages: [{ role: 'user', content: 'a fairly long message that will not fit' }] });
    expect(msg.stop_reason).toBe('max_tokens');
    expect((msg.content[0] as Anthropic.TextBlock).text.length).toBeLessThanOrEqual(12);
  });

  it('is retried by the SDK on 429 after the retry-after it sends', async () => {
    model.script([{ error: { status: 429, retryAfter: 1 } }, { text: 'after the wait' }]);
    const retrying = new Anthropic({ apiKey: 'k', baseURL: model.anthropicBaseUrl, maxRetries: 2 });
    const started = Date.now();
    const msg = await retrying.messages.create({ model: 'dev-model', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect((msg.content[0] as Anthropic.TextBlock).text).toBe('after the wait');
    expect(model.requests.map((r) => [r.status, r.headers['x-stainless-retry-count']])).toEqual([
      [429, '0'],
      [200, '1'],
    ]);
  });

  it('answers 429 and 529 in the documented shape, and the SDK retries 529 (overloaded)', async () => {
    model.script([{ error: { status: 429, retryAfter: 7 } }]);
    const raw = await fetch(`${model.anthropicBaseUrl}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'k', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(raw.status).toBe(429);
    expect(raw.headers.get('retry-after')).toBe('7');
    const body = await raw.json();
    expect(body).toEqual({ type: 'error', error: { type: 'rate_limit_error', message: expect.any(String) }, request_id: expect.stringMatching(/^req_/) });

    model.script([{ error: { status: 529, retryAfterMs: 20 } }, { error: { status: 529, retryAfterMs: 20 } }, { text: 'finally' }]);
    const retrying = new Anthropic({ apiKey: 'k', baseURL: model.anthropicBaseUrl, maxRetries: 2 });
    const msg = await retrying.messages.stream({ model: 'dev-model', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] }).finalMessage();
    expect((msg.content[0] as Anthropic.TextBlock).text).toBe('finally');

    model.script([{ error: { status: 529 } }]);
    const err = await client.messages.create({ model: 'dev-model', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.InternalServerError);
    expect((err as InstanceType<typeof Anthropic.APIError>).status).toBe(529);
    expect((err as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
  });

  it('fails a stream mid-way with event: error, which the SDK throws', async () => {
    model.script([{ text: ['partial ', 'answer'], streamError: { type: 'overloaded_error' } }]);
    const stream = client.messages.stream({ model: 'dev-model', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] });
    const texts: string[] = [];
    stream.on('text', (t) => texts.push(t));
    await expect(stream.finalMessage()).rejects.toThrow(/overloaded_error|Overloaded/);
    expect(texts).toEqual(['partial ', 'answer']);
  });

  it('answers malformed requests with the documented 400 shape, consuming no scripted turn', async () => {
    model.script([{ text: 'kept for later' }]);
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${model.anthropicBaseUrl}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'k', 'anthropic-version': '2023-06-01', ...headers }, body });
    const cases: Array<[string, RegExp]> = [
      ['{not json', /not valid JSON/],
      ['[]', /not a JSON object/],
      [JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }] }), /^max_tokens: Field required$/],
      [JSON.stringify({ model: 'm', max_tokens: 0, messages: [{ role: 'user', content: 'x' }] }), /^max_tokens: /],
      [JSON.stringify({ max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }), /^model: Field required$/],
      [JSON.stringify({ model: 'm', max_tokens: 5 }), /^messages: Field required$/],
      [JSON.stringify({ model: 'm', max_tokens: 5, messages: [] }), /^messages: /],
      [JSON.stringify({ model: 'm', max_tokens: 5, messages: [{ role: 'system', content: 'x' }] }), /^messages\.0\.role: /],
      [JSON.stringify({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_nope', content: 'x' }] }] }), /tool_use_id/],
      [JSON.stringify({ model: 'm', max_tokens: 5, tools: [{ name: 't' }], messages: [{ role: 'user', content: 'x' }] }), /^tools\.0\.input_schema: Field required$/],
      [JSON.stringify({ model: 'm', max_tokens: 5, stream: 'yes', messages: [{ role: 'user', content: 'x' }] }), /^stream: /],
    ];
    for (const [body, message] of cases) {
      const res = await post(body);
      expect(res.status, body).toBe(400);
      const json = await res.json();
      expect(json, body).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringMatching(message) }, request_id: expect.any(String) });
    }
    const noVersion = await fetch(`${model.anthropicBaseUrl}/v1/messages`, { method: 'POST', headers: { 'x-api-key': 'k' }, body: '{}' });
    expect(noVersion.status).toBe(400);
    expect(((await noVersion.json()) as { error: unknown }).error).toEqual({ type: 'invalid_request_error', message: 'anthropic-version: header is required' });
    const noKey = await fetch(`${model.anthropicBaseUrl}/v1/messages`, { method: 'POST', headers: { 'anthropic-version': '2023-06-01' }, body: '{}' });
    expect(noKey.status).toBe(401);
    expect(((await noKey.json()) as { error: { type: string } }).error.type).toBe('authentication_error');
    const sdkErr = await client.messages.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] } as never).catch((e: unknown) => e);
    expect(sdkErr).toBeInstanceOf(Anthropic.BadRequestError);
    expect((sdkErr as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ error: { type: 'invalid_request_error', message: 'max_tokens: Field required' } });
    expect(model.pending()).toBe(1);
  });

  it('refuses a body over 32 MiB with 413 request_too_large, reading nothing into memory past the limit', async () => {
    const res = await fetch(`${model.anthropicBaseUrl}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'k', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x'.repeat(33 * 1024 * 1024) }] }),
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: unknown }).error).toEqual({ type: 'request_too_large', message: expect.stringMatching(/maximum size/) });
  });

  it('checks the key when started with one, and lists models in the Page shape', async () => {
    const locked = await startTestModel({ apiKey: 'sk-right', models: { anthropic: ['claude-a', 'claude-b'] } });
    try {
      const wrong = new Anthropic({ apiKey: 'sk-wrong', baseURL: locked.anthropicBaseUrl, maxRetries: 0 });
      await expect(wrong.messages.create({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
      const viaHeader = new Anthropic({ apiKey: null, authToken: null, defaultHeaders: { 'x-api-key': 'sk-right' }, baseURL: locked.anthropicBaseUrl, maxRetries: 0 });
      const page = await viaHeader.models.list();
      expect(page.data.map((m) => m.id)).toEqual(['claude-a', 'claude-b']);
      expect(page.data[0]).toMatchObject({ type: 'model', display_name: 'claude-a' });
      const right = new Anthropic({ apiKey: 'sk-right', baseURL: locked.anthropicBaseUrl, maxRetries: 0 });
      const msg = await right.messages.create({ model: 'm', max_tokens: 50, messages: [{ role: 'user', content: 'x' }] });
      expect(msg.type).toBe('message');
      expect(JSON.stringify(locked.requests)).not.toContain('sk-right');
    } finally {
      await locked.close();
    }
  });
});
