import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseServerManifest } from './parse-server-json.js';
import { SERVER_JSON_SCHEMA_ID, schemaIssues } from './schema-validator.js';

const problems = (doc: unknown): string[] => parseServerManifest(JSON.stringify(doc)).problems;
const ok = { name: 'io.github.alice/weather', description: 'Weather', version: '1.0.0' };
const pkg = { registryType: 'npm', identifier: '@x/y', version: '1.0.0', transport: { type: 'stdio' } };

describe('server.json against the official schema', () => {
  it('embeds the 2025-12-11 schema of the MCP registry, unchanged', () => {
    const schema = JSON.parse(readFileSync(new URL('./schema/2025-12-11.json', import.meta.url), 'utf8')) as Record<string, unknown>;
    expect(SERVER_JSON_SCHEMA_ID).toBe('https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json');
    expect(schema.$id).toBe(SERVER_JSON_SCHEMA_ID);
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
  });

  it('reports every violation at once, each named by its path, in document order', () => {
    expect(
      problems({
        name: 'x/y',
        description: '',
        version: '',
        title: '',
        packages: [{ ...pkg, transport: { type: 'streamable-http' }, packageArguments: [{ type: 'positional', format: 'date' }, 'str', {}] }],
        remotes: [{ type: 'sse', url: 'https://x.example.org', variables: { a: { format: 'z' } } }],
        _meta: { 'io.modelcontextprotocol.registry/publisher-provided': 3 },
      }),
    ).toEqual([
      "server.json: missing required field 'description'",
      "server.json: missing required field 'version'",
      "server.json: field 'title' must not be empty",
      'server.json: packages[0].packageArguments[0].format must be one of: string, number, boolean, filepath',
      "server.json: packages[0].packageArguments[0] is a positional argument and needs a 'valueHint' or a 'value'",
      'server.json: packages[0].packageArguments[1] must be an object',
      'server.json: packages[0].packageArguments[2].type is required',
      'server.json: packages[0].transport.url is required',
      'server.json: remotes[0].variables.a.format must be one of: string, number, boolean, filepath',
      'server.json: _meta["io.modelcontextprotocol.registry/publisher-provided"] must be an object',
    ]);
  });

  it('resolves a tagged union by its type instead of listing every branch', () => {
    expect(problems({ ...ok, packages: [{ ...pkg, transport: 'stdio' }] })).toEqual(['server.json: packages[0].transport must be an object']);
    expect(problems({ ...ok, packages: [{ ...pkg, transport: { type: 7 } }] })).toEqual(['server.json: packages[0].transport.type must be a string']);
    expect(problems({ ...ok, remotes: [{ type: 'streamable-http', url: 'https://a b' }] })).toEqual(['server.json: remotes[0].url must start with http:// or https://, without spaces']);
    expect(problems({ ...ok, packages: [{ ...pkg, runtimeArguments: [{ type: 'named', name: '--x', isRepeated: 'yes' }] }] })).toEqual([
      'server.json: packages[0].runtimeArguments[0].isRepeated must be true or false',
    ]);
    // Headers are key-value inputs, inside a branch.
    expect(problems({ ...ok, remotes: [{ type: 'sse', url: 'https://a.example.org', headers: [{ value: 'v' }] }] })).toEqual(['server.json: remotes[0].headers[0].name is required']);
  });

  it('applies the rules no schema expresses', () => {
    expect(problems({ ...ok, name: 'io.github.alice/-weather' })).toEqual([expect.stringMatching(/^server\.json: field 'name': /)]);
    expect(problems({ ...ok, version: '1.0.0 - 2.0.0' })).toEqual(["server.json: version '1.0.0 - 2.0.0' is a range; publish one exact version"]);
    expect(problems({ ...ok, packages: [{ ...pkg, version: 'LATEST' }] })).toEqual(["server.json: packages[0].version is invalid: version 'latest' is reserved; publish an exact version"]);
    expect(problems({ ...ok, repository: { url: 'https://git.example.org/x', source: 'git', subfolder: '/abs' } })).toEqual([
      "server.json: repository.subfolder must be a clean relative path (no leading '/', no '.' or '..' segments)",
    ]);
    expect(problems({ ...ok, icons: [{ src: 'ftp://x.example.org/i.png' }] })).toEqual(['server.json: icons[0].src must be an https:// URL']);
  });

  it('accepts a full document and reads scope, name, repository and homepage from it', () => {
    const r = parseServerManifest(
      JSON.stringify({
        ...ok,
        websiteUrl: 'https://w.example.org',
        repository: { url: 'https://git.example.org/w', source: 'gitea' },
        packages: [pkg],
        remotes: [{ type: 'sse', url: 'https://{t}.example.org/sse', variables: { t: {} } }],
      }),
    );
    expect(r.problems).toEqual([]);
    expect(r.manifest).toMatchObject({ scope: 'io.github.alice', name: 'weather', version: '1.0.0', repository: 'https://git.example.org/w', homepage: 'https://w.example.org' });
    expect(schemaIssues(r.manifest!.raw)).toEqual([]);
  });
});
