import { describe, expect, it } from 'vitest';
import { plantedSecrets, standIns } from '../../bench/planted-secrets.mjs';
import { parseManifest } from '../../src/core/packages/manifest/index.js';
import { publishFindings } from '../../src/core/packages/publish-findings.js';
import { ALLOW_SECRET, SecretScan, isPlaceholder, scanText, shannonEntropy } from '../../src/core/packages/secret-scan.js';

const RULES = [
  'aws-access-key-id',
  'aws-secret-access-key',
  'github-token',
  'gitlab-token',
  'slack-token',
  'slack-webhook',
  'stripe-secret-key',
  'google-api-key',
  'openai-api-key',
  'anthropic-api-key',
  'npm-token',
  'huggingface-token',
  'private-key',
  'jwt',
  'high-entropy-assignment',
];

/** The long runs of key characters of a planted file: its secret is among them. */
const longRuns = (text: string): string[] => text.split(/[\s"'=:(),]+/).filter((t) => t.length >= 16 && /\d/.test(t));

describe('secret scanner', () => {
  it('finds every planted secret, of every rule family, at its file and line, and shows none of it', () => {
    const planted = plantedSecrets(18, 63);
    expect(new Set(planted.map((p) => p.rule))).toEqual(new Set(RULES));
    for (const p of planted) {
      const hits = scanText(p.file, p.text);
      expect(
        hits.map((h) => `${h.file}:${h.line}: ${h.rule}`),
        p.text,
      ).toEqual([`${p.file}:${p.line}: ${p.rule}`]);
      expect(hits[0].redacted.endsWith('…')).toBe(true);
      expect(hits[0].redacted.length).toBeLessThanOrEqual(25);
      for (const run of longRuns(p.text)) expect(JSON.stringify(hits)).not.toContain(run.slice(-12));
    }
  });

  it('finds a secret deep in a long file at its line, and several in one file in order', () => {
    const [aws, , gh] = plantedSecrets(7, 3);
    const filler = Array.from({ length: 500 }, (_, i) => `const v${i} = compute(${i}); // ordinary code`).join('\n');
    const text = `${filler}\n${aws.text}${filler}\n${gh.text}`;
    const hits = scanText('big.js', text);
    expect(hits.map((h) => [h.rule, h.line])).toEqual([
      ['aws-access-key-id', 500 + aws.line],
      ['github-token', 500 + aws.text.split('\n').length - 1 + 500 + gh.line],
    ]);
  });

  it('leaves placeholders, examples and references alone', () => {
    for (const line of standIns()) expect(scanText('x.txt', line), line).toEqual([]);
    expect(isPlaceholder('sk-...')).toBe(true);
    expect(isPlaceholder('<your-key>')).toBe(true);
    expect(isPlaceholder('${OPENAI_API_KEY}')).toBe(true);
    expect(isPlaceholder('9fQ2xLr7Zp0aVt4K')).toBe(false);
  });

  it('measures entropy in bits per character', () => {
    expect(shannonEntropy('aaaa')).toBe(0);
    expect(shannonEntropy('abcd')).toBe(2);
    expect(shannonEntropy('')).toBe(0);
  });

  it(`skips a line carrying ${ALLOW_SECRET}, or following one, and no other`, () => {
    const p = plantedSecrets(3, 1)[0];
    const lines = p.text.split('\n');
    const same = lines.map((l, i) => (i === p.line - 1 ? `${l} # ${ALLOW_SECRET}` : l)).join('\n');
    expect(scanText(p.file, same)).toEqual([]);
    const before = [...lines.slice(0, p.line - 1), `# ${ALLOW_SECRET}: documented test key`, ...lines.slice(p.line - 1)].join('\n');
    expect(scanText(p.file, before)).toEqual([]);
    // Two lines above is too far.
    const far = [...lines.slice(0, p.line - 1), `# ${ALLOW_SECRET}`, '', ...lines.slice(p.line - 1)].join('\n');
    expect(scanText(p.file, far).map((h) => h.line)).toEqual([p.line + 2]);
  });

  it('skips binary files (a NUL byte, or a binary extension) but reads text with the same bytes', () => {
    const p = plantedSecrets(5, 1)[0];
    const withNul = Buffer.concat([Buffer.from([0x89, 0x50, 0x00, 0x01]), Buffer.from(p.text)]);
    const scan = new SecretScan();
    scan.file('assets/logo.dat', withNul);
    scan.file('assets/logo.png', Buffer.from(p.text));
    expect(scan.hits).toEqual([]);
    expect(scan.skippedBinary).toBe(2);
    scan.file('config.py', Buffer.from(p.text));
    expect(scan.hits.map((h) => h.file)).toEqual(['config.py']);
  });

  it('reads only the head of a file and a bounded total per package', () => {
    const p = plantedSecrets(9, 1)[0];
    const padding = Buffer.alloc(100, 'x\n');
    const scan = new SecretScan({ maxBytesPerFile: 100, maxTotalBytes: 250, maxHits: 5 });
    scan.file('late.py', Buffer.concat([padding, Buffer.from(p.text)]));
    expect(scan.hits).toEqual([]);
    scan.file('early.py', Buffer.from(p.text));
    expect(scan.hits.map((h) => h.file)).toEqual(['early.py']);
    const early = Math.min(100, p.text.length);
    expect(scan.scannedBytes).toBe(100 + early);
    expect(scan.wants()).toBe(150 - early);
    scan.file('a.py', Buffer.alloc(100, 'y'));
    expect(scan.wants()).toBe(0);
    scan.file('last.py', Buffer.from(p.text));
    expect(scan.hits.map((h) => h.file)).toEqual(['early.py']);
  });

  it('stops at maxHits', () => {
    const text = plantedSecrets(11, 40)
      .map((p) => p.text)
      .join('\n');
    expect(scanText('all.txt', text, 5)).toHaveLength(5);
  });
});

describe('publish findings', () => {
  const agent = (perms: string) => parseManifest('agent', `name: a\nversion: 1.0.0\ndescription: d\nauthor: "@s"\npermissions: ${perms}\n`).manifest!;
  const server = (packages: unknown[]) => parseManifest('mcp-server', JSON.stringify({ name: 's/x', description: 'd', version: '1.0.0', packages })).manifest!;
  const transport = { type: 'stdio' };

  it('flags an agent asking for filesystem, network and execution together, not fewer', () => {
    expect(publishFindings(agent('{ filesystem: true, network: true, execute_commands: true }')).map((f) => [f.rule, f.path])).toEqual([['risky-permissions', 'permissions']]);
    expect(publishFindings(agent('{ filesystem: true, network: true, execute_commands: false }'))).toEqual([]);
    expect(publishFindings(agent('{ network: true }'))).toEqual([]);
  });

  it('flags MCP packages from registries the server.json schema does not name', () => {
    const found = publishFindings(
      server([
        { registryType: 'npm', identifier: '@x/y', version: '1.0.0', transport },
        { registryType: 'npm', registryBaseUrl: 'https://registry.npmjs.org', identifier: '@x/y', version: '1.0.0', transport },
        { registryType: 'pypi', registryBaseUrl: 'https://pypi.corp.example', identifier: 'y', version: '1.0.0', transport },
        { registryType: 'cargo', identifier: 'y', version: '1.0.0', transport },
        { registryType: 'oci', identifier: 'ghcr.io/x/y:1.0.0', transport },
        { registryType: 'oci', identifier: 'docker.io/x/y:1.0.0', transport },
        { registryType: 'oci', identifier: 'x/y:1.0.0', transport },
        { registryType: 'oci', identifier: 'images.corp.example:5000/x/y:1.0.0', transport },
        { registryType: 'mcpb', identifier: 'https://github.com/x/y/releases/download/v1/y.mcpb', transport },
        { registryType: 'mcpb', identifier: 'https://files.example.net/y.mcpb', transport },
      ]),
    );
    expect(found.map((f) => f.path)).toEqual(['packages[2].registryBaseUrl', 'packages[3].registryType', 'packages[7].identifier', 'packages[9].identifier']);
    expect(found.every((f) => f.rule === 'unknown-registry')).toBe(true);
    expect(found[0].message).toContain('pypi.corp.example');
  });
});
