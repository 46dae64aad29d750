import { describe, expect, it } from 'vitest';
import { AGENT_NETWORK_KEY, agentToolNetwork, builtinTool, checkToolInput, PACKAGE_MANAGER_HOSTS, resolveBuiltinToolset, toolNetworkOf, truncateOutput } from '../../src/core/tools/builtin-toolset.js';

describe('built-in toolset configuration', () => {
  it('offers nothing without an agent_toolset_20260401 entry, and all seven tools (always_allow) with a bare one', () => {
    expect(resolveBuiltinToolset([])).toEqual([]);
    expect(resolveBuiltinToolset([{ type: 'custom', name: 'x', input_schema: {} }])).toEqual([]);
    const all = resolveBuiltinToolset([{ type: 'agent_toolset_20260401' }]);
    expect(all.map((t) => [t.name, t.permission])).toEqual(['bash', 'read', 'write', 'edit', 'glob', 'grep', 'web_fetch'].map((n) => [n, 'always_allow']));
    expect(all.map((t) => t.definition.name)).toEqual(all.map((t) => t.name));
    for (const t of all) expect(t.definition.input_schema.type).toBe('object');
  });

  it('lets per-tool configs win over default_config (enabled and permission policy); auto asks', () => {
    const tools = resolveBuiltinToolset([
      {
        type: 'agent_toolset_20260401',
        default_config: { enabled: false, permission_policy: { type: 'always_allow' } },
        configs: [
          { name: 'bash', enabled: true, permission_policy: { type: 'always_ask' } },
          { name: 'read', enabled: true },
          { name: 'web_fetch', enabled: true, permission_policy: { type: 'auto' }, allowed_domains: ['docs.example.com'], max_content_tokens: 1000 },
          { name: 'web_search', enabled: true },
        ],
      },
    ]);
    expect(tools.map((t) => [t.name, t.permission])).toEqual([
      ['bash', 'always_ask'],
      ['read', 'always_allow'],
      ['web_fetch', 'always_ask'],
    ]);
    expect(builtinTool(tools, 'web_fetch')?.webFetch).toEqual({ allowedDomains: ['docs.example.com'], blockedDomains: undefined, maxContentTokens: 1000 });
    expect(builtinTool(tools, 'write')).toBeUndefined();
  });

  it("derives bash's network from the environment, failing closed", () => {
    expect(toolNetworkOf({ type: 'cloud', networking: { type: 'unrestricted' } })).toEqual({ type: 'unrestricted' });
    expect(toolNetworkOf({ type: 'cloud', networking: { type: 'limited', allowed_hosts: ['api.example.com', ' '] } })).toEqual({ type: 'limited', allowedHosts: ['api.example.com'] });
    expect(toolNetworkOf({ type: 'cloud', networking: { type: 'limited', allowed_hosts: [] } })).toEqual({ type: 'none' });
    expect(toolNetworkOf({ type: 'cloud', networking: { type: 'limited', allowed_hosts: [], allow_mcp_servers: true } }, ['https://mcp.example.com:8443/mcp', 'not a url'])).toEqual({
      type: 'limited',
      allowedHosts: ['mcp.example.com:8443'],
    });
    const pm = toolNetworkOf({ type: 'cloud', networking: { type: 'limited', allow_package_managers: true } });
    expect(pm).toEqual({ type: 'limited', allowedHosts: PACKAGE_MANAGER_HOSTS });
    expect(toolNetworkOf({ type: 'self_hosted' })).toEqual({ type: 'none' });
    expect(toolNetworkOf(null)).toEqual({ type: 'none' });
    expect(toolNetworkOf({ type: 'cloud', networking: { type: 'something-new' } })).toEqual({ type: 'none' });
  });

  it("derives an agent's bash network: its MCP server hosts on a limited network, none when its metadata says so", () => {
    const limited = { type: 'cloud', networking: { type: 'limited', allowed_hosts: [], allow_mcp_servers: true } };
    const agent = { mcp_servers: [{ type: 'url', url: 'https://mcp.example.com/mcp' }, { type: 'package', name: 'x' }, 'junk'] };
    expect(agentToolNetwork(limited, agent)).toEqual({ type: 'limited', allowedHosts: ['mcp.example.com'] });
    expect(agentToolNetwork(limited, { ...agent, metadata: { [AGENT_NETWORK_KEY]: 'none' } })).toEqual({ type: 'none' });
    expect(agentToolNetwork({ type: 'cloud', networking: { type: 'unrestricted' } }, { metadata: { [AGENT_NETWORK_KEY]: 'none' } })).toEqual({ type: 'none' });
    // Only `none` means anything: other values leave the environment's network.
    expect(agentToolNetwork({ type: 'cloud', networking: { type: 'unrestricted' } }, { metadata: { [AGENT_NETWORK_KEY]: 'all' } })).toEqual({ type: 'unrestricted' });
    expect(agentToolNetwork({ type: 'cloud', networking: { type: 'unrestricted' } }, undefined)).toEqual({ type: 'unrestricted' });
  });
});

describe('tool input and output', () => {
  it('checks input against the schema and lists every problem', () => {
    expect(checkToolInput('read', { file_path: 'a' })).toEqual({ ok: true, value: { file_path: 'a' } });
    expect(checkToolInput('read', null)).toEqual({ ok: false, message: 'read: input must be a JSON object' });
    expect(checkToolInput('read', [])).toMatchObject({ ok: false });
    const bad = checkToolInput('edit', { file_path: 3, old_string: 'a', replace_all: 'yes', extra: 1 });
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.message).toContain('new_string is required');
      expect(bad.message).toContain('file_path must be a string');
      expect(bad.message).toContain('replace_all must be true or false');
      expect(bad.message).toContain('unknown field extra');
    }
    expect(checkToolInput('bash', { command: 'ls', timeout_ms: 1.5 })).toMatchObject({ ok: false, message: expect.stringContaining('timeout_ms must be an integer') });
    expect(checkToolInput('read', { file_path: 'a', view_range: [1, 'x'] })).toMatchObject({ ok: false, message: expect.stringContaining('array of integers') });
  });

  it('cuts long output keeping both ends and says how much was left out', () => {
    expect(truncateOutput('short', 100)).toBe('short');
    const long = `${'a'.repeat(600)}${'b'.repeat(600)}`;
    const cut = truncateOutput(long, 200);
    expect(cut.startsWith('a'.repeat(100))).toBe(true);
    expect(cut.endsWith('b'.repeat(100))).toBe(true);
    expect(cut).toContain('1000 characters in the middle were left out (limit 200)');
    // Output already dropped while streaming is counted too.
    expect(truncateOutput('x'.repeat(150), 200, 5000)).toContain('5000 characters in the middle were left out');
  });
});
