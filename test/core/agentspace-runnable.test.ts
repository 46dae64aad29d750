import { describe, expect, it } from 'vitest';
import { connectorModelId, runnableAssistant } from '../../src/core/agentspaces/runnable.js';
import { AgentryError } from '../../src/core/errors.js';

/** The AssistantConfig → managed agent mapping (docs/run.md, "Agentspace agents"), on resolved configs. */

const resolved = (profile: Record<string, unknown> = {}, connector: Record<string, unknown> = {}, top: Record<string, unknown> = {}) => ({
  assistant_id: 'helper',
  nickname: 'Helper',
  description: 'Helps.',
  tags: ['support', 'en'],
  response: {
    provider_id: 'alquimia',
    config: { provider_id: 'generative', connector: { provider_id: 'openai', model: 'gpt-4o-mini', api_key: 'sk-resolved', ...connector } },
    profile: { system_prompt: 'Be kind.', evaluation_strategy: { evaluation_strategy_id: 'native', tool_choice: 'auto' }, persistence_strategy: 'INCREMENTAL', ...profile },
  },
  ...top,
});

const refusals = (spec: Record<string, unknown>): string[] => {
  try {
    runnableAssistant('space', 'helper', spec);
  } catch (e) {
    expect(e).toBeInstanceOf(AgentryError);
    return (e as AgentryError).details as string[];
  }
  throw new Error('not refused');
};

describe('AssistantConfig → managed agent', () => {
  it('maps nickname, description, tags, the rendered prompt and the connector (provider by base_url)', () => {
    const r = runnableAssistant('space', 'helper', resolved());
    expect(r.agent).toEqual({
      name: 'Helper',
      description: 'Helps.',
      model: 'agentspace:space:helper',
      system: 'Be kind.',
      metadata: { 'agentry.source': 'agentspace:space/helper', 'alquimia.tags': 'support,en' },
    });
    expect(r.card).toEqual({ modelId: 'agentspace:space:helper', provider: 'oai', model: 'gpt-4o-mini', baseUrl: null, apiKey: 'sk-resolved', headers: {} });
    const compat = runnableAssistant('space', 'helper', resolved({}, { provider_id: 'vllm', base_url: 'http://llm.local/v1', extra_headers: { 'X-Team': 'a' } }));
    expect(compat.card).toMatchObject({ provider: 'oai-compatible', baseUrl: 'http://llm.local/v1', headers: { 'X-Team': 'a' } });
    expect(runnableAssistant('space', 'helper', resolved({}, { provider_id: 'anthropic' })).card.provider).toBe('ant');
    expect(connectorModelId('s', 'a'.repeat(128))).toMatch(/^agentspace:[0-9a-f]{64}$/);
  });

  it('refuses, by name, every field the session runtime cannot express', () => {
    const problems = refusals(
      resolved(
        {
          prompt_clauses: { a: 'b' },
          knowledge_base: [{}],
          tools: [{ provider_id: 'mcp', url: 'https://x' }],
          short_term_memory_strategy: [{ memory_strategy_id: 'max_tokens' }],
          evaluation_strategy: { evaluation_strategy_id: 'native', max_steps: 3, tool_choice: 'required' },
        },
        { temperature: 0.2, top_p: 0.9, max_tokens: 100, api_key: null },
        { channels: [{ provider_id: 'slack', channel_id: 'c' }], shields: { s: {} } },
      ),
    );
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(
      [
        'channels',
        'shields',
        'response.profile.prompt_clauses',
        'response.profile.knowledge_base',
        'response.profile.short_term_memory_strategy',
        'response.profile.tools',
        'response.profile.evaluation_strategy.tool_choice',
        'response.config.connector.temperature',
        'response.config.connector.top_p',
        'response.config.connector.max_tokens',
        'response.config.connector.api_key',
      ].sort(),
    );
    expect(refusals(resolved({ evaluation_strategy: { evaluation_strategy_id: 'raw' } }))[0]).toMatch(/^response\.profile\.evaluation_strategy: 'raw'/);
  });

  it('refuses each inexpressible field alone, by its name', () => {
    const cases: Array<[string, Record<string, unknown>]> = [
      ['channels', resolved({}, {}, { channels: [{ provider_id: 'slack', channel_id: 'c' }] })],
      ['shields', resolved({}, {}, { shields: { guard: {} } })],
      ['empathy', resolved({}, {}, { empathy: { profiles: [] } })],
      ['description', resolved({}, {}, { description: 'x'.repeat(2049) })],
      ['tags', resolved({}, {}, { tags: Array.from({ length: 50 }, () => 'x'.repeat(12)) })],
      ['response.profile.prompt_clauses', resolved({ prompt_clauses: { tone: 'warm' } })],
      ['response.profile.knowledge_base', resolved({ knowledge_base: [{ collection: 'docs' }] })],
      ['response.profile.runtime_context', resolved({ runtime_context: { now: true } })],
      ['response.profile.short_term_memory_strategy', resolved({ short_term_memory_strategy: [{ memory_strategy_id: 'max_tokens' }] })],
      ['response.profile.long_term_memory_strategy', resolved({ long_term_memory_strategy: [{ long_term_memory_id: 'erase' }] })],
      ['response.profile.tools', resolved({ tools: [{ provider_id: 'mcp', url: 'https://mcp.example/mcp' }] })],
      ['response.profile.evaluation_strategy', resolved({ evaluation_strategy: { evaluation_strategy_id: 'raw' } })],
      ['response.profile.evaluation_strategy.decorators', resolved({ evaluation_strategy: { evaluation_strategy_id: 'native', decorators: [{ id: 'plan' }] } })],
      ['response.profile.evaluation_strategy.tool_choice', resolved({ evaluation_strategy: { evaluation_strategy_id: 'native', tool_choice: 'required' } })],
      ['response.config.connector.temperature', resolved({}, { temperature: 0.2 })],
      ['response.config.connector.top_p', resolved({}, { top_p: 0.5 })],
      ['response.config.connector.max_tokens', resolved({}, { max_tokens: 64 })],
      ['response.config.connector.api_key', resolved({}, { api_key: null })],
      ['response.config.connector.provider_id', resolved({}, { provider_id: 'groq' })],
    ];
    for (const [field, spec] of cases) {
      const problems = refusals(spec);
      expect(problems, field).toHaveLength(1);
      expect(problems[0].startsWith(`${field}: `), problems[0]).toBe(true);
    }
  });

  it("maps evaluation_strategy onto the loop's settings: max_steps caps a turn's model requests; what holds anyway is accepted", () => {
    expect(runnableAssistant('space', 'helper', resolved()).loop).toEqual({});
    const native = runnableAssistant('space', 'helper', resolved({ evaluation_strategy: { evaluation_strategy_id: 'native', max_steps: 4, max_concurrent_tools: 2, tool_choice: 'none' } }));
    expect(native.loop).toEqual({ maxStepsPerTurn: 4 });
    expect(runnableAssistant('space', 'helper', resolved({ evaluation_strategy: { evaluation_strategy_id: 'one-shoot' } })).loop).toEqual({});
    expect(refusals(resolved({}, { provider_id: 'mistral' }))[0]).toMatch(/^response\.config\.connector\.provider_id/);
  });
});
