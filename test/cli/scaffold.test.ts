import { describe, expect, it } from 'vitest';
import { parseLocalManifest } from '../../src/cli/local-manifest.js';
import { PACKAGE_KINDS } from '../../src/core/packages/kinds.js';
import { parsePackageRef } from '../../src/cli/package-ref.js';
import { scaffoldFiles } from '../../src/cli/scaffold.js';
import { parseManifest } from '../../src/core/packages/manifest/index.js';

describe('init scaffolds', () => {
  it.each(PACKAGE_KINDS)('a %s manifest the server accepts, and the CLI reads back', async (kind) => {
    const { manifestFile, files } = await scaffoldFiles({ kind, name: 'hello-thing', scope: 'alice' });
    expect(Object.keys(files).sort()).toEqual([manifestFile, 'README.md'].sort());
    const server = parseManifest(kind, files[manifestFile]);
    expect(server.problems).toEqual([]);
    expect(server.manifest).toMatchObject({ kind, name: 'hello-thing', version: '0.1.0' });
    expect(await parseLocalManifest(kind, files[manifestFile])).toMatchObject({ kind, name: 'hello-thing', version: '0.1.0', scope: 'alice' });
  });

  it('writes the MCP server.json schema and the agent author', async () => {
    const server = JSON.parse((await scaffoldFiles({ kind: 'mcp-server', name: 'weather', scope: '@io.github.alice' })).files['server.json']) as Record<string, unknown>;
    expect(server).toMatchObject({ $schema: 'https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json', name: 'io.github.alice/weather', version: '0.1.0' });
    expect((await scaffoldFiles({ kind: 'agent', name: 'x', scope: 'bob' })).files['agent.yaml']).toContain('author: "@bob"');
  });

  it('refuses names and scopes the manifest would reject', async () => {
    await expect(scaffoldFiles({ kind: 'agent', name: 'Hello', scope: 'alice' })).rejects.toThrow(/an agent name is lower-case/);
    await expect(scaffoldFiles({ kind: 'skill', name: 'bad--name' })).rejects.toThrow(/a skill name/);
    await expect(scaffoldFiles({ kind: 'agent', name: 'ok' })).rejects.toThrow('--scope is required for an agent');
    await expect(scaffoldFiles({ kind: 'mcp-server', name: 'ok', scope: 'bad scope' })).rejects.toThrow(/a scope is/);
    await expect(scaffoldFiles({ kind: 'mcp-server', name: 'ok', scope: 'alice', description: 'x'.repeat(101) })).rejects.toThrow('the description is longer than 100 characters');
  });
});

describe('package references', () => {
  it('parses @scope/name with an optional version or tag', () => {
    expect(parsePackageRef('@alice/helper')).toEqual({ scope: 'alice', name: 'helper', fullName: '@alice/helper' });
    expect(parsePackageRef('alice/helper@1.2.0', 'optional')).toEqual({ scope: 'alice', name: 'helper', version: '1.2.0', fullName: '@alice/helper' });
    expect(parsePackageRef('@io.github.alice/w.x@beta', 'required')).toMatchObject({ scope: 'io.github.alice', name: 'w.x', version: 'beta' });
    expect(() => parsePackageRef('@alice/helper@1.0.0')).toThrow("invalid package '@alice/helper@1.0.0': expected @scope/name (no version)");
    expect(() => parsePackageRef('@alice/helper', 'required')).toThrow("invalid package '@alice/helper': expected @scope/name@version");
    expect(() => parsePackageRef('helper')).toThrow(/expected @scope\/name/);
    expect(() => parsePackageRef('@a/../x')).toThrow(/invalid package/);
  });
});
