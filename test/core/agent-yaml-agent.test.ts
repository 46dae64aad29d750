import { describe, expect, it } from 'vitest';
import { agentYamlToAgent } from '../../src/core/sessions/formats/agent-yaml-agent.js';
import { agentYamlServer, agentYamlServerProfile, fillSecrets } from '../../src/core/sessions/formats/agent-yaml-servers.js';
import { agentToolNetwork, resolveBuiltinToolset } from '../../src/core/tools/builtin-toolset.js';

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
    // network: false also takes bash's network away, whatever the environment allows.
    expect(m.input.metadata).toMatchObject({ 'agentry.network': 'none' });
    expect(agentToolNetwork({ type: 'cloud', networking: { type: 'unrestricted' } }, m.input)).toEqual({ type: 'none' });
    const open = agentYamlToAgent({ ...base, config: { model: 'a' }, permissions: { network: true } }, null);
    expect(open.input.metadata).not.toHaveProperty('agentry.network');
    expect(agentToolNetwork({ type: 'cloud', networking: { type: 'unrestricted' } }, open.input)).toEqual({ type: 'unrestricted' });
    expect(toolNames(agentYamlToAgent({ ...base, config: { model: 'a' }, permissions: { filesystem: true, execute_commands: true } }, null))).toEqual(all);
  });

  it('maps mcp_servers run with npx onto package MCP servers and their toolsets', () => {
    const m = agentYamlToAgent(
      {
        ...base,
        config: { model: 'a' },
        mcp_servers: { ev: { command: 'npx', args: ['-y', '@scope/srv@1.0.0', 'stdio'], env: { KEY: 'k-${secrets.KEY}' } }, two: { command: '/usr/bin/npx', args: ['srv'] } },
      },
      null,
    );
    expect(m.input.mcp_servers).toEqual([
      { name: 'ev', type: 'package', package: '@alice/helper', version: '1.2.0' },
      { name: 'two', type: 'package', package: '@alice/helper', version: '1.2.0' },
    ]);
    expect(m.input.tools?.filter((t) => t.type === 'mcp_toolset')).toEqual([
      { type: 'mcp_toolset', mcp_server_name: 'ev' },
      { type: 'mcp_toolset', mcp_server_name: 'two' },
    ]);
    // The definition holds no environment (the secret reference stays in the package, its value in the vaults).
    expect(JSON.stringify(m.input)).not.toContain('secrets.KEY');
  });

  it('reads each server as the sandbox runs it, and fills in secrets by name', async () => {
    expect(agentYamlServer('ev', { command: 'npx', args: ['-y', '--quiet', '@scope/srv@1.0.0', 'stdio', '--port', '1'], env: { A: '${secrets.K}-${secrets.L}-${secrets.K}' } })).toEqual({
      package: '@scope/srv',
      version: '1.0.0',
      args: ['stdio', '--port', '1'],
      env: { A: '${secrets.K}-${secrets.L}-${secrets.K}' },
      secretKeys: ['K', 'L'],
    });
    expect(agentYamlServer('ev', { command: 'npx', args: ['srv'] })).toMatchObject({ package: 'srv', version: 'latest', args: [] });
    expect(agentYamlServerProfile({ permissions: { network: true } }).network.outbound).toEqual({ allow_host: ['*'] });
    expect(agentYamlServerProfile({ permissions: { network: false, filesystem: true } })).toMatchObject({ read: [], write: [], network: { outbound: {} } });
    expect(agentYamlServerProfile({})).toMatchObject({ read: [], write: [], network: { outbound: {} } });
    const vault: Record<string, string> = { K: 'kv', L: 'lv' };
    const missing = (k: string) => new Error(`no ${k}`);
    expect(await fillSecrets({ A: '${secrets.K}-${secrets.L}-${secrets.K}', B: 'plain' }, async (k) => vault[k], missing)).toEqual({ A: 'kv-lv-kv', B: 'plain' });
    await expect(fillSecrets({ A: '${secrets.K}', B: '${secrets.NOPE}' }, async (k) => vault[k], missing)).rejects.toThrow('no NOPE');
  });

  it('refuses what it cannot express, naming the field', () => {
    const refused = (manifest: Record<string, unknown>, field: RegExp) => expect(() => agentYamlToAgent({ ...base, ...manifest }, null)).toThrow(field);
    refused({ config: { model: 'a' }, mcp_servers: { gmail: { command: 'npx' } } }, /'mcp_servers\.gmail\.args'.*names no package/);
    refused({ config: { model: 'a' }, mcp_servers: { py: { command: 'uvx', args: ['mcp-server-time'] } } }, /'mcp_servers\.py\.command'.*'uvx' is not supported/);
    refused({ config: { model: 'a' }, mcp_servers: { n: { command: 'node', args: ['server.js'] } } }, /'mcp_servers\.n\.command'/);
    refused({ config: { model: 'a' }, mcp_servers: { x: { command: 'npx', args: ['-p', 'evil', 'sh'] } } }, /'mcp_servers\.x\.args'.*'-p'/);
    refused({ config: { model: 'a' }, mcp_servers: { x: { command: 'npx', args: ['github:evil/repo'] } } }, /'mcp_servers\.x\.args'/);
    refused({ config: { model: 'a' }, mcp_servers: { x: { command: 'npx', args: ['pkg@^1.2.0'] } } }, /'mcp_servers\.x\.args'/);
    refused({ config: { model: 'a' }, mcp_servers: { x: { command: 'npx', args: ['pkg'], env: { 'A-B': '1' } } } }, /'mcp_servers\.x\.env'/);
    refused({ config: { model: 'a' }, mcp_servers: { 'a b': { command: 'npx', args: ['pkg'] } } }, /'mcp_servers\.a b'/);
    refused({ config: { model: 'a' }, requires: { node: '>=20' } }, /'requires'/);
    refused({ config: { model: 'a', temperature: 0.3 } }, /'config\.temperature'/);
    refused({ config: { model: 'a', managed_agent: {} } }, /'config\.managed_agent'/);
    refused({ config: { model: 3 } }, /'config\.model'/);
    refused({}, /config\.model/);
    // Empty lists and mappings express nothing: accepted.
    expect(agentYamlToAgent({ ...base, config: { model: 'a' }, mcp_servers: {}, requires: {} }, null).input.model).toBe('a');
  });
});
