import { describe, expect, it } from 'vitest';
import type { PackageKind } from '../kinds.js';
import { isStrictSemver } from './fields.js';
import { parseManifest } from './index.js';

const problems = (kind: PackageKind, text: string): string[] => {
  const r = parseManifest(kind, text);
  expect(r.manifest, 'a manifest with problems must not be returned').toBeUndefined();
  return r.problems;
};

const AGENT = ['name: helper', 'version: 1.2.0', 'description: Helps', 'author: "@alice"'].join('\n');
const agent = (extra: string, base = AGENT): string => `${base}\n${extra}`;

describe('isStrictSemver', () => {
  it('takes exact versions only', () => {
    for (const ok of ['0.0.1', '1.2.3', '1.2.3-rc.1', '10.20.30-alpha.beta.1']) expect(isStrictSemver(ok), ok).toBe(true);
    for (const bad of ['1.2', '1', 'v1.2.3', '=1.2.3', '^1.2.3', '1.2.x', '01.2.3', '1.2.3+build.5', ' 1.2.3', 'latest', '', `1.2.3-${'a'.repeat(60)}`]) {
      expect(isStrictSemver(bad), bad).toBe(false);
    }
  });
});

describe('agent.yaml', () => {
  it('accepts a full manifest and takes the scope from author', () => {
    const r = parseManifest(
      'agent',
      agent(
        [
          'license: MIT',
          'tags: [mail, triage]',
          'category: communication',
          'secrets: [GMAIL_TOKEN]',
          'mcp_servers:',
          '  gmail:',
          '    command: npx',
          '    args: [gmail-mcp]',
          '    env: { TOKEN: "${secrets.GMAIL_TOKEN}" }',
          'permissions: { network: true, filesystem: false }',
          'examples: [{ prompt: "Sort my inbox" }]',
          'repository: https://example.com/helper',
        ].join('\n'),
      ),
    );
    expect(r.problems).toEqual([]);
    expect(r.manifest).toMatchObject({ kind: 'agent', file: 'agent.yaml', name: 'helper', scope: 'alice', version: '1.2.0', category: 'communication', tags: ['mail', 'triage'] });
  });

  it('names every missing required field at once', () => {
    expect(problems('agent', 'license: MIT\n')).toEqual([
      "agent.yaml: missing required field 'name'",
      "agent.yaml: missing required field 'version'",
      "agent.yaml: missing required field 'description'",
      "agent.yaml: missing required field 'author'",
    ]);
  });

  it('refuses unknown fields', () => {
    expect(problems('agent', agent('homepage_url: https://x\nfoo: 1'))).toEqual(["agent.yaml: unknown field 'homepage_url'", "agent.yaml: unknown field 'foo'"]);
  });

  it('refuses versions that are not exact semver', () => {
    for (const v of ['1.0', 'v1.0.0', '1.0.0+build.1', '^1.0.0', 'latest']) {
      expect(problems('agent', AGENT.replace('1.2.0', `"${v}"`))).toEqual([`agent.yaml: version '${v}' is not valid semver`]);
    }
    // YAML reads an unquoted `version: 1.0` as a number.
    expect(problems('agent', AGENT.replace('1.2.0', '1.0'))).toEqual(["agent.yaml: field 'version' must be a string"]);
  });

  it('checks names, author, category, tags and lengths', () => {
    expect(problems('agent', AGENT.replace('name: helper', 'name: My_Agent'))).toEqual(["agent.yaml: field 'name' value 'My_Agent' must match ^[a-z0-9-]+$"]);
    expect(problems('agent', AGENT.replace('"@alice"', 'alice'))).toEqual(["agent.yaml: field 'author' value 'alice' must be the scope it publishes to, like '@alice'"]);
    expect(problems('agent', agent('category: games'))).toEqual([
      "agent.yaml: field 'category' must be one of: productivity, devtools, communication, data, research, writing, finance, marketing, education, entertainment, security, other",
    ]);
    expect(problems('agent', agent('tags: mail'))).toEqual(["agent.yaml: field 'tags' must be a list of strings"]);
    expect(problems('agent', agent(`tags: [${Array.from({ length: 11 }, (_, i) => `t${i}`).join(', ')}]`))).toEqual(["agent.yaml: field 'tags' has more than 10 entries"]);
    expect(problems('agent', AGENT.replace('description: Helps', `description: ${'d'.repeat(501)}`))).toEqual(["agent.yaml: field 'description' is longer than 500 characters"]);
    expect(problems('agent', AGENT.replace('description: Helps', 'description: [a, b]'))).toEqual(["agent.yaml: field 'description' must be a string"]);
  });

  it('checks mcp_servers, secrets, permissions and examples', () => {
    const servers = ['secrets: [A]', 'mcp_servers:', '  s1: { args: [1], env: { X: "${secrets.B}" }, cwd: / }', '  s2: just-a-string'].join('\n');
    expect(problems('agent', agent(servers))).toEqual([
      "agent.yaml: mcp_servers.s1: unknown field 'cwd'",
      "agent.yaml: mcp_servers.s1: missing required field 'command'",
      'agent.yaml: mcp_servers.s1.args must be a list of strings',
      "agent.yaml: mcp_servers.s1.env references undeclared secret 'B'",
      "agent.yaml: mcp_servers.s2 must be a mapping with 'command', 'args' and 'env'",
    ]);
    expect(problems('agent', agent('secrets: 3'))).toEqual(["agent.yaml: field 'secrets' must be a list or a mapping"]);
    expect(problems('agent', agent('permissions: { network: yes-please, root: true }'))).toEqual([
      'agent.yaml: permissions.network must be true or false',
      "agent.yaml: permissions: unknown field 'root'",
    ]);
    expect(problems('agent', agent('examples: [hello]'))).toEqual(["agent.yaml: examples[0] must be a mapping with a 'prompt' string"]);
    expect(problems('agent', agent('requires: [x]'))).toEqual(["agent.yaml: field 'requires' must be a mapping"]);
  });

  it('refuses text that is not a YAML mapping, and alias bombs', () => {
    expect(problems('agent', 'name: [unclosed\n')).toEqual([expect.stringMatching(/^agent\.yaml: not valid YAML \(.+\)$/)]);
    expect(problems('agent', '- a\n- b\n')).toEqual(['agent.yaml: must be a YAML mapping']);
    expect(problems('agent', '')).toEqual(['agent.yaml: must be a YAML mapping']);
    const laughs = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 12; i++)
      laughs.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(', ')}]`,
      );
    expect(problems('agent', laughs.join('\n'))).toEqual([expect.stringMatching(/^agent\.yaml: not valid YAML/)]);
  });
});

describe('SKILL.md', () => {
  const skill = (front: string, body = '# Use it\n') => `---\n${front}\n---\n${body}`;

  it('accepts front matter with or without a version and keeps the body as readme', () => {
    const r = parseManifest('skill', skill('name: pdf-tools\ndescription: PDFs\nmetadata:\n  version: 0.1.0\n  tags: pdf, docs'));
    expect(r.manifest).toMatchObject({ kind: 'skill', name: 'pdf-tools', version: '0.1.0', tags: ['pdf', 'docs'], readme: '# Use it' });
    expect(parseManifest('skill', skill('name: pdf-tools\ndescription: PDFs')).manifest?.version).toBeNull();
  });

  it('names each problem', () => {
    expect(problems('skill', '# no front matter\n')).toEqual(["SKILL.md: must start with YAML front matter between '---' lines"]);
    expect(problems('skill', skill('name: Bad--Name\nextra: 1'))).toEqual([
      "SKILL.md: unknown field 'extra'",
      "SKILL.md: field 'name' value 'Bad--Name' must be lower-case letters (a-z), digits and single hyphens, not starting or ending with a hyphen",
      "SKILL.md: missing required field 'description'",
    ]);
    expect(problems('skill', skill('name: ok\ndescription: d\nmetadata:\n  version: 1.0'))).toEqual(['SKILL.md: metadata.version must be a string (quote it: "1")']);
    expect(problems('skill', skill('name: ok\ndescription: d\nmetadata:\n  version: "1.0"'))).toEqual(["SKILL.md: metadata.version '1.0' is not valid semver"]);
    expect(problems('skill', skill('name: ok\ndescription: d\nmetadata: [1]'))).toEqual(["SKILL.md: field 'metadata' must be a mapping"]);
  });
});

describe('server.json', () => {
  it('splits the name into scope and name', () => {
    const r = parseManifest('mcp-server', JSON.stringify({ name: 'io.github.alice/weather', description: 'Weather', version: '1.0.0' }));
    expect(r.manifest).toMatchObject({ kind: 'mcp-server', scope: 'io.github.alice', name: 'weather', version: '1.0.0' });
  });

  it('names each problem', () => {
    expect(problems('mcp-server', '{"name": ')).toEqual([expect.stringMatching(/^server\.json: not valid JSON \(.+\)$/)]);
    expect(problems('mcp-server', '[]')).toEqual(['server.json: must be a JSON object']);
    expect(problems('mcp-server', JSON.stringify({ name: 'weather', description: 'd'.repeat(101), version: '^1', packages: [1], tools: [] }))).toEqual([
      "server.json: unknown field 'tools'",
      "server.json: field 'name' value 'weather' must be '<namespace>/<name>', e.g. 'io.github.alice/weather'",
      "server.json: field 'description' is longer than 100 characters",
      "server.json: version '^1' is a range; publish one exact version",
      'server.json: packages[0] must be an object',
    ]);
  });
});

describe('recipe.yaml', () => {
  it('names each problem', () => {
    expect(parseManifest('recipe', 'name: summarize\nversion: 0.2.0\n').manifest).toMatchObject({ kind: 'recipe', name: 'summarize', scope: null });
    expect(problems('recipe', 'name: -bad\nsteps: []\n')).toEqual([
      "recipe.yaml: unknown field 'steps'",
      "recipe.yaml: field 'name' value '-bad' must be letters, digits, '-', '_' or '.'",
      "recipe.yaml: missing required field 'version'",
    ]);
  });
});
