import Anthropic from '@anthropic-ai/sdk';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import OpenAI from 'openai';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, assertBuilt } from '../cli/cli-harness.js';

const BIN = join(ROOT, 'bin/agentry.js');

/** Starts `agentry dev-model`, waits for its banner, and answers its base URLs. */
const devModel = (args: string[]) => {
  const child = spawn(process.execPath, [BIN, 'dev-model', ...args], { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const banner = new Promise<{ ant: string; oai: string }>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
      const ant = /ant-compatible model card: base_url (\S+)/.exec(stdout);
      const oai = /oai-compatible model card: base_url (\S+)/.exec(stdout);
      if (ant && oai) resolve({ ant: ant[1], oai: oai[1] });
    });
    void exited.then((code) => reject(new Error(`dev-model exited ${code}: ${stderr}`)));
  });
  /** The request log line is written after the answer is sent, so it may trail the client's read. */
  const waitForOutput = async (pattern: RegExp): Promise<void> => {
    for (let i = 0; i < 100 && !pattern.test(stdout); i++) await new Promise((r) => setTimeout(r, 20));
    expect(stdout).toMatch(pattern);
  };
  return { child, banner, exited, waitForOutput, output: () => stdout };
};

describe('agentry dev-model', () => {
  beforeAll(() => assertBuilt());

  it('starts on loopback, prints both base URLs, answers both SDKs, logs requests and exits 0 on SIGTERM', async () => {
    const m = devModel(['--port', '0']);
    const { ant, oai } = await m.banner;
    expect(ant).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(oai).toBe(`${ant}/v1`);
    expect(m.output()).toMatch(/Agentry dev model listening on http:\/\/127\.0\.0\.1:\d+/);
    expect(m.output()).toContain('not a language model');

    const anthropic = new Anthropic({ apiKey: 'any-key', baseURL: ant, maxRetries: 0 });
    const tools = [{ name: 'lookup', input_schema: { type: 'object' as const } }];
    const stream = anthropic.messages.stream({ model: 'dev-model', max_tokens: 200, tools, messages: [{ role: 'user', content: '/tool lookup {"q": "x"}' }] });
    const msg = await stream.finalMessage();
    expect(msg.content.find((b) => b.type === 'tool_use')).toMatchObject({ name: 'lookup', input: { q: 'x' } });

    const openai = new OpenAI({ apiKey: 'any-key', baseURL: oai, maxRetries: 0 });
    const models = await openai.models.list();
    expect(models.data.map((x) => x.id)).toEqual(['dev-model']);
    const c = await openai.chat.completions.create({ model: 'dev-model', messages: [{ role: 'user', content: 'ping' }] });
    expect(c.choices[0].message.content).toContain('You said: "ping".');
    await m.waitForOutput(/POST \/v1\/messages 200 \(anthropic\)/);
    await m.waitForOutput(/POST \/v1\/chat\/completions 200 \(openai\)/);

    m.child.kill('SIGTERM');
    expect(await m.exited).toBe(0);
  });

  it('takes --api-key and refuses other keys', async () => {
    const m = devModel(['--port', '0', '--api-key', 'sk-local', '--quiet']);
    const { ant } = await m.banner;
    const wrong = new Anthropic({ apiKey: 'sk-other', baseURL: ant, maxRetries: 0 });
    await expect(wrong.messages.create({ model: 'dev-model', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
    await new Promise((r) => setTimeout(r, 300)); // a log line would have arrived by now
    expect(m.output()).not.toContain('sk-local');
    expect(m.output()).not.toMatch(/POST \/v1\/messages/);
    m.child.kill('SIGINT');
    expect(await m.exited).toBe(0);
  });

  it('has help text that says what it is, and refuses a bad port', () => {
    const help = spawnSync(process.execPath, [BIN, 'dev-model', '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('not a language model');
    expect(help.stdout).toContain('--port <port>');
    expect(help.stdout).toContain('(default: "127.0.0.1")');
    expect(help.stdout).toContain('/tool <name>');
    const bad = spawnSync(process.execPath, [BIN, 'dev-model', '--port', 'eighty'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--port must be a whole number from 0 to 65535, not 'eighty'");
  });
});
