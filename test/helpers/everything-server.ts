import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { makeTarball } from './packages.js';

const require = createRequire(import.meta.url);

/** The version of the reference MCP server the dev dependencies hold (so npm installs it from its cache). */
export const EVERYTHING_VERSION = (JSON.parse(readFileSync(require.resolve('@modelcontextprotocol/server-everything/package.json'), 'utf8')) as { version: string }).version;

/**
 * A registry entry `admin/everything` at `version` whose server.json runs the reference server from
 * npm over stdio; `pkg` overrides fields of its package (environment variables, arguments).
 */
export const everythingServerJson = (version: string, pkg: Record<string, unknown> = {}) =>
  makeTarball({
    'server.json': JSON.stringify({
      name: 'admin/everything',
      description: 'The reference MCP server',
      version,
      packages: [
        {
          registryType: 'npm',
          identifier: '@modelcontextprotocol/server-everything',
          version: EVERYTHING_VERSION,
          transport: { type: 'stdio' },
          packageArguments: [{ type: 'positional', value: 'stdio' }],
          ...pkg,
        },
      ],
    }),
  });
