/**
 * Install snippets for a package, per kind: what a person pastes into a terminal or a client config.
 * Pure: the web console's package page and the MCP endpoint's `get_package` tool both read them here.
 */
export interface SnippetInput {
  kind: string;
  /** The scope, with its '@' ("@alice"). */
  scope: string;
  name: string;
  version: string;
  manifest: Record<string, unknown> | null;
  /** Where this server is reached (http://127.0.0.1:8080). */
  origin: string;
}

export interface Snippet {
  label: string;
  text: string;
}

const obj = (v: unknown): Record<string, unknown> | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** The MCP client configuration (Claude Desktop, Cursor, …: `mcpServers`) for the server.json's first package or remote. */
export const mcpClientConfig = (name: string, manifest: Record<string, unknown> | null): string | undefined => {
  const pkg = obj(arr(manifest?.packages)[0]);
  const remote = obj(arr(manifest?.remotes)[0]);
  let entry: Record<string, unknown> | undefined;
  if (pkg) {
    const id = String(pkg.identifier ?? '');
    const v = pkg.version ? String(pkg.version) : undefined;
    const env = Object.fromEntries(
      arr(pkg.environmentVariables)
        .map((e) => [String(obj(e)?.name ?? ''), `<${String(obj(e)?.name ?? '')}>`])
        .filter(([k]) => k),
    );
    const withEnv = (e: Record<string, unknown>) => (Object.keys(env).length ? { ...e, env } : e);
    switch (pkg.registryType) {
      case 'npm':
        entry = withEnv({ command: 'npx', args: ['-y', v ? `${id}@${v}` : id] });
        break;
      case 'pypi':
        entry = withEnv({ command: 'uvx', args: [v ? `${id}==${v}` : id] });
        break;
      case 'oci':
        entry = withEnv({ command: 'docker', args: ['run', '-i', '--rm', v && !id.includes(':') ? `${id}:${v}` : id] });
        break;
      case 'nuget':
        entry = withEnv({ command: 'dnx', args: [v ? `${id}@${v}` : id, '--yes'] });
        break;
    }
  }
  if (!entry && remote?.url) entry = { type: remote.type ?? 'streamable-http', url: remote.url };
  if (!entry) return undefined;
  return JSON.stringify({ mcpServers: { [name]: entry } }, null, 2);
};

/** Every way to install or run one version of a package from the server at `origin`, for its kind. */
export const installSnippets = (p: SnippetInput): Snippet[] => {
  const full = `${p.scope}/${p.name}`;
  const host = new URL(p.origin).host;
  const plain = p.origin.startsWith('http:');
  const repo = `${host}/${p.scope.replace(/^@/, '')}/${p.name}:${p.version}`;
  const out: Snippet[] = [];
  if (p.kind === 'skill') out.push({ label: 'Agentry CLI', text: `agentry skill pull ${full}@${p.version} --registry ${p.origin}` });
  else out.push({ label: 'Agentry CLI', text: `agentry pull ${full}@${p.version} --registry ${p.origin}` });
  if (p.kind === 'mcp-server') {
    const serverName = typeof p.manifest?.name === 'string' ? p.manifest.name : full;
    const config = mcpClientConfig(serverName.split('/').pop() ?? p.name, p.manifest);
    if (config) out.push({ label: 'MCP client configuration (mcpServers)', text: config });
    out.push({ label: 'ToolHive', text: `thv config set-registry ${p.origin}${plain ? ' -p' : ''}\nthv run ${serverName}` });
  }
  if (p.kind === 'recipe') out.push({ label: 'PraisonAI', text: `praisonai recipe pull ${p.name} --registry ${p.origin}` });
  const managed = obj(obj(p.manifest?.config)?.managed_agent);
  if (p.kind === 'agent' && managed) {
    out.push({
      label: 'Managed agent (Anthropic SDK)',
      text: [
        "import Anthropic from '@anthropic-ai/sdk';",
        '',
        `const client = new Anthropic({ baseURL: '${p.origin}', apiKey: process.env.AGENTRY_TOKEN });`,
        `const agent = await client.beta.agents.create(${JSON.stringify(managed, null, 2)});`,
      ].join('\n'),
    });
  }
  out.push({ label: 'OCI (oras)', text: `oras pull${plain ? ' --plain-http' : ''} ${repo}` });
  out.push({ label: 'OCI (skopeo)', text: `skopeo copy${plain ? ' --src-tls-verify=false' : ''} docker://${repo} oci:${p.name}:${p.version}` });
  return out;
};
