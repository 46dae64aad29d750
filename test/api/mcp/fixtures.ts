/**
 * server.json examples in the shapes the official MCP registry documents (a local npm server,
 * Python, OCI with runtime arguments, NuGet with positional arguments, an MCPB bundle, remote
 * streamable-http and SSE servers, a hybrid, one with icons and publisher metadata). Written for
 * these tests: every name, URL and value here is made up.
 */
export type ServerJson = Record<string, unknown>;

const SCHEMA = 'https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json';

export const validServers = (ns: string): ServerJson[] => [
  { name: `${ns}/tiny`, description: 'The smallest valid server.json', version: '0.1.0' },
  {
    $schema: SCHEMA,
    name: `${ns}/notes-npm`,
    title: 'Notes',
    description: 'Keeps short notes in a local folder',
    version: '1.4.2',
    repository: { url: 'https://git.example.org/notes/notes-mcp', source: 'gitea', id: 'repo-1234' },
    websiteUrl: 'https://notes.example.org/docs',
    packages: [
      {
        registryType: 'npm',
        registryBaseUrl: 'https://registry.npmjs.org',
        identifier: '@notes-example/notes-mcp',
        version: '1.4.2',
        runtimeHint: 'npx',
        transport: { type: 'stdio' },
        environmentVariables: [
          { name: 'NOTES_DIR', description: 'Where notes live', isRequired: true, format: 'filepath' },
          { name: 'NOTES_TOKEN', description: 'Sync token', isSecret: true },
        ],
      },
    ],
  },
  {
    $schema: SCHEMA,
    name: `${ns}/tides-py`,
    description: 'Tide tables for coastal towns',
    version: '0.9.0',
    packages: [
      {
        registryType: 'pypi',
        identifier: 'tides-mcp-server',
        version: '0.9.0',
        runtimeHint: 'uvx',
        transport: { type: 'stdio' },
        environmentVariables: [{ name: 'TIDES_UNITS', description: 'metric or imperial', default: 'metric', choices: ['metric', 'imperial'] }],
      },
    ],
  },
  {
    name: `${ns}/sql-oci`,
    description: 'Runs read-only SQL against a database you name',
    version: '3.0.1',
    repository: { url: 'https://git.example.org/sql/sql-mcp', source: 'gitlab', subfolder: 'servers/sql' },
    packages: [
      {
        registryType: 'oci',
        identifier: 'registry.example.org/sql/sql-mcp:3.0.1',
        runtimeHint: 'docker',
        transport: { type: 'stdio' },
        runtimeArguments: [
          { type: 'named', name: '--network', value: 'host', description: 'Reach a database on the host' },
          {
            type: 'named',
            name: '-e',
            value: 'DB_KIND={kind}',
            isRepeated: true,
            variables: { kind: { description: 'Database kind', choices: ['postgres', 'mysql'], isRequired: true } },
          },
        ],
        packageArguments: [
          { type: 'named', name: '--port', format: 'number', description: 'Database port' },
          { type: 'positional', valueHint: 'database', isRequired: true },
        ],
        environmentVariables: [{ name: 'DB_PASSWORD', isSecret: true, isRequired: true }],
      },
    ],
  },
  {
    name: `${ns}/dice-nuget`,
    description: 'Rolls dice and draws cards',
    version: '0.4.0-beta',
    packages: [
      {
        registryType: 'nuget',
        registryBaseUrl: 'https://api.nuget.org/v3/index.json',
        identifier: 'Example.DiceMcp',
        version: '0.4.0-beta',
        runtimeHint: 'dnx',
        transport: { type: 'stdio' },
        packageArguments: [
          { type: 'positional', value: 'mcp' },
          { type: 'positional', value: 'start' },
        ],
      },
    ],
  },
  {
    name: `${ns}/draw-mcpb`,
    description: 'Draws diagrams from text, shipped as an MCP bundle',
    version: '1.0.0',
    packages: [
      {
        registryType: 'mcpb',
        identifier: 'https://downloads.example.org/draw/v1.0.0/draw-mcp.mcpb',
        fileSha256: 'a'.repeat(64),
        transport: { type: 'stdio' },
      },
    ],
  },
  {
    name: `${ns}/weather-remote`,
    description: 'Forecasts over streamable HTTP',
    version: '2.0.0',
    remotes: [
      {
        type: 'streamable-http',
        url: 'https://mcp.weather.example.org/mcp',
        headers: [{ name: 'X-Api-Key', description: 'Your API key', isRequired: true, isSecret: true }],
      },
    ],
  },
  {
    name: `${ns}/tenant-sse`,
    description: 'A per-tenant server over SSE',
    version: '1.1.0',
    remotes: [
      {
        type: 'sse',
        url: 'https://{tenant}.mcp.example.org/sse',
        variables: { tenant: { description: 'Your tenant id', isRequired: true } },
      },
    ],
  },
  {
    name: `${ns}/hybrid`,
    description: 'Runs locally or as a hosted service',
    version: '1.5.0',
    packages: [
      {
        registryType: 'npm',
        identifier: '@hybrid-example/server',
        version: '1.5.0',
        transport: { type: 'streamable-http', url: 'http://localhost:{port}/mcp' },
        packageArguments: [{ type: 'named', name: '--port', default: '3000' }],
      },
    ],
    remotes: [{ type: 'streamable-http', url: 'https://hybrid.example.org/mcp' }],
  },
  {
    name: `${ns}/gallery`,
    title: 'Gallery',
    description: 'Shows images with icons and publisher metadata',
    version: '2025.11.30',
    icons: [
      { src: 'https://gallery.example.org/icon.png', mimeType: 'image/png', sizes: ['48x48', '96x96'], theme: 'light' },
      { src: 'https://gallery.example.org/icon.svg', mimeType: 'image/svg+xml', sizes: ['any'] },
    ],
    _meta: {
      'io.modelcontextprotocol.registry/publisher-provided': { tool: 'example-ci', version: '2.3.0', build: { commit: '0f1e2d3c' } },
    },
  },
];

/** One invalid server.json per documented rule, with the problem the registry must name. */
export const invalidServers = (ns: string): Array<{ why: string; body: unknown; expect: RegExp }> => {
  const ok = { name: `${ns}/bad`, description: 'Fine', version: '1.0.0' };
  const pkg = { registryType: 'npm', identifier: '@x/y', version: '1.0.0', transport: { type: 'stdio' } };
  return [
    { why: 'missing name', body: { description: 'No name', version: '1.0.0' }, expect: /missing required field 'name'/ },
    { why: 'name without a slash', body: { ...ok, name: 'bad-name' }, expect: /field 'name' value 'bad-name' must be '<namespace>\/<name>'/ },
    { why: 'name with two slashes', body: { ...ok, name: `${ns}/a/b` }, expect: /field 'name'/ },
    { why: 'name with a space', body: { ...ok, name: `${ns}/has space` }, expect: /field 'name'/ },
    { why: 'name over 200 characters', body: { ...ok, name: `${ns}/${'n'.repeat(200)}` }, expect: /longer than 200/ },
    { why: 'missing description', body: { name: ok.name, version: '1.0.0' }, expect: /missing required field 'description'/ },
    { why: 'description over 100 characters', body: { ...ok, description: 'd'.repeat(101) }, expect: /description' is longer than 100/ },
    { why: 'title over 100 characters', body: { ...ok, title: 't'.repeat(101) }, expect: /title' is longer than 100/ },
    { why: 'missing version', body: { name: ok.name, description: 'x' }, expect: /missing required field 'version'/ },
    { why: "version 'latest'", body: { ...ok, version: 'latest' }, expect: /version 'latest' is reserved/ },
    { why: 'caret range', body: { ...ok, version: '^1.2.3' }, expect: /'\^1\.2\.3' is a range/ },
    { why: 'tilde range', body: { ...ok, version: '~1.2.3' }, expect: /is a range/ },
    { why: '>= range', body: { ...ok, version: '>=1.2.3' }, expect: /is a range/ },
    { why: 'x range', body: { ...ok, version: '1.x' }, expect: /is a range/ },
    { why: 'star range', body: { ...ok, version: '1.*' }, expect: /is a range/ },
    { why: 'version over 255 characters', body: { ...ok, version: '1'.repeat(256) }, expect: /longer than 255/ },
    { why: 'version not a string', body: { ...ok, version: 1 }, expect: /field 'version' must be a string/ },
    { why: 'unknown top-level field', body: { ...ok, tools: [] }, expect: /unknown field 'tools'/ },
    { why: "package version 'latest'", body: { ...ok, packages: [{ ...pkg, version: 'latest' }] }, expect: /packages\[0\]\.version is invalid: version 'latest' is reserved/ },
    { why: 'package version range', body: { ...ok, packages: [{ ...pkg, version: '^1.0.0' }] }, expect: /packages\[0\]\.version is invalid: .*is a range/ },
    { why: 'package without transport', body: { ...ok, packages: [{ registryType: 'npm', identifier: '@x/y' }] }, expect: /packages\[0\]\.transport is required/ },
    { why: 'package without identifier', body: { ...ok, packages: [{ registryType: 'npm', transport: { type: 'stdio' } }] }, expect: /packages\[0\]\.identifier is required/ },
    { why: 'unknown transport type', body: { ...ok, packages: [{ ...pkg, transport: { type: 'carrier-pigeon' } }] }, expect: /transport\.type must be one of: stdio, streamable-http, sse/ },
    {
      why: 'positional argument without a value',
      body: { ...ok, packages: [{ ...pkg, packageArguments: [{ type: 'positional', description: 'no value' }] }] },
      expect: /packageArguments\[0\] is a positional argument and needs a 'valueHint' or a 'value'/,
    },
    { why: 'named argument without a name', body: { ...ok, packages: [{ ...pkg, runtimeArguments: [{ type: 'named' }] }] }, expect: /runtimeArguments\[0\]\.name is required/ },
    { why: 'environment variable without a name', body: { ...ok, packages: [{ ...pkg, environmentVariables: [{ description: 'x' }] }] }, expect: /environmentVariables\[0\]\.name is required/ },
    { why: 'bad input format', body: { ...ok, packages: [{ ...pkg, environmentVariables: [{ name: 'A', format: 'date' }] }] }, expect: /format must be one of: string, number, boolean, filepath/ },
    { why: 'bad fileSha256', body: { ...ok, packages: [{ ...pkg, fileSha256: 'xyz' }] }, expect: /fileSha256 must be 64 lower-case hex/ },
    { why: 'remote over stdio', body: { ...ok, remotes: [{ type: 'stdio' }] }, expect: /remotes\[0\]\.type must be one of: streamable-http, sse/ },
    { why: 'remote without url', body: { ...ok, remotes: [{ type: 'sse' }] }, expect: /remotes\[0\]\.url is required/ },
    { why: 'remote url not http', body: { ...ok, remotes: [{ type: 'streamable-http', url: 'ftp://x.example.org' }] }, expect: /remotes\[0\]\.url must start with http/ },
    { why: 'icon over http', body: { ...ok, icons: [{ src: 'http://x.example.org/i.png' }] }, expect: /icons\[0\]\.src must be an https:\/\/ URL/ },
    { why: 'icon bad size', body: { ...ok, icons: [{ src: 'https://x.example.org/i.png', sizes: ['big'] }] }, expect: /icons\[0\]\.sizes\[0\]/ },
    { why: 'repository without source', body: { ...ok, repository: { url: 'https://git.example.org/x' } }, expect: /repository\.source is required/ },
    { why: 'repository url not a URI', body: { ...ok, repository: { url: 'not a url', source: 'github' } }, expect: /repository\.url must be an absolute URI/ },
    {
      why: 'repository subfolder escaping',
      body: { ...ok, repository: { url: 'https://git.example.org/x', source: 'github', subfolder: '../up' } },
      expect: /subfolder must be a clean relative path/,
    },
    { why: 'websiteUrl not a URI', body: { ...ok, websiteUrl: 'example.org' }, expect: /websiteUrl must be an absolute URI/ },
    {
      why: 'publisher metadata over 4 KB',
      body: { ...ok, _meta: { 'io.modelcontextprotocol.registry/publisher-provided': { blob: 'x'.repeat(5000) } } },
      expect: /at most 4096 are allowed/,
    },
    { why: 'a JSON array', body: [ok], expect: /must be (a JSON )?object/ },
  ];
};
