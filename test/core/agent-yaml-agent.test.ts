import { describe, expect, it } from 'vitest';
import { agentYamlToAgent } from '../../src/core/sessions/formats/agent-yaml-agent.js';
import { resolveBuiltinToolset } from '../../src/core/tools/builtin-toolset.js';

const base = { name: 'helper', version: '1.2.0', description: 'Helps.', author: '@alice', license: 'MIT', tags: ['x'], category: 'productivity' };
const toolNames = (m: ReturnType<typeof agentYamlToAgent>): string[] => resolveBuiltinToolset(m.input.tools ?? []).map((t) => t.name);

describe('agent.yaml → managed agent (issue 19)', () => {
  it('builds the system prompt from description and README, or takes config.system_prompt', () => {
    const m = agentYamlToAgent({ ...base, config: { model: 'card-a' } }, '# Helper\nBe brief.');
    expect(m.input).toMatchObject({ model: 'card-a', system: 'Helps.\n\n# Helper\nBe brief.', name: '@alice/helper@1.2.0', mcp_servers: [] });
    expect(agentYamlToAgent({ ...base, config: { model: 'a', system_prompt: 'Only this.' } }, 'ignored').input.system).toBe('Only this.');
    expect(agentYamlToAgent({ ...base, config: { model: 'a' } }, null, { model: 'b' }).input.model).toBe('b');
  });

  it('maps permissions onto the built-in tools and keeps examples', () => {
    const all = toolNames(agentYamlToAgent({ ...base, config: { model: 'a' } }, null));
    expect(all).toEqual(expect.arrayContaining(['bash', 'read', 'write', 'edit', 'web_fetch']));
    const m = agentYamlToAgent({ ...base, config: { model: 'a' }, permissions: { execute_commands: false, filesystem: false, network: false }, examples: [{ prompt: 'p1' }, { prompt: 'p2' }] }, null);
    const tools = toolNames(m);
    for (const off of ['bash', 'write', 'edit', 'web_fetch']) expect(tools).not.toContain(off);
    expect(tools).toEqual(expect.arrayContaining(['read', 'glob', 'grep']));
    expect(m.suggestedPrompts).toEqual(['p1', 'p2']);
    expect(toolNames(agentYamlToAgent({ ...base, config: { model: 'a' }, permissions: { filesystem: true, execute_commands: true } }, null))).toEqual(all);
  });

  it('refuses what it cannot express, naming the field', () => {
    const refused = (manifest: Record<string, unknown>, field: RegExp) => expect(() => agentYamlToAgent({ ...base, ...manifest }, null)).toThrow(field);
    refused({ config: { model: 'a' }, mcp_servers: { gmail: { command: 'npx' } } }, /'mcp_servers'/);
    refused({ config: { model: 'a' }, requires: { node: '>=20' } }, /'requires'/);
    refused({ config: { model: 'a', temperature: 0.3 } }, /'config\.temperature'/);
    refused({ config: { model: 'a', managed_agent: {} } }, /'config\.managed_agent'/);
    refused({ config: { model: 3 } }, /'config\.model'/);
    refused({}, /config\.model/);
    // Empty lists and mappings express nothing: accepted.
    expect(agentYamlToAgent({ ...base, config: { model: 'a' }, mcp_servers: {}, requires: {} }, null).input.model).toBe('a');
  });
});
