import { gzipSync } from 'node:zlib';
import { Header } from 'tar';

/**
 * A deterministic corpus of agent packages for the benchmark: a seeded PRNG, a vocabulary of
 * made-up words drawn with a skew (a few common words, many rare ones), and tarballs built in
 * memory with tar's own header encoder.
 */
export const prng = (seed) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'ze', 'pa', 'qu', 'do', 'fe', 'gi', 'ho', 'ju', 'xa', 'yo', 'wu', 'be'];
export const CATEGORIES = ['productivity', 'devtools', 'communication', 'data', 'research', 'writing', 'finance', 'marketing', 'education', 'entertainment', 'security', 'other'];

export const vocabulary = (size = 3000, seed = 7) => {
  const rnd = prng(seed);
  const words = new Set();
  while (words.size < size) {
    const n = 2 + Math.floor(rnd() * 3);
    let w = '';
    for (let i = 0; i < n; i++) w += SYLLABLES[Math.floor(rnd() * SYLLABLES.length)];
    words.add(w);
  }
  return [...words];
};

/**
 * The benches' search mix, drawn from `seed`: Q selective queries (a rare word for agents, or a rare
 * and any word over every kind) and Q/5 (at least 20) broad ones (common words), as { kind, text }.
 */
export const searchMix = (words, Q, seed) => {
  const rnd = prng(seed);
  const rare = words.slice(-600);
  const common = words.slice(0, 10);
  const pick = (list) => list[Math.floor(rnd() * list.length)];
  return [
    ...Array.from({ length: Q }, (_, i) => (i % 2 === 0 ? { kind: 'agent', text: pick(rare) } : { kind: undefined, text: `${pick(rare)} ${pick(words)}` })),
    ...Array.from({ length: Math.max(20, Math.floor(Q / 5)) }, (_, i) => (i % 2 === 0 ? { kind: 'agent', text: pick(common) } : { kind: undefined, text: `${pick(common)} ${pick(common)}` })),
  ];
};

/** Index into the vocabulary with a heavy skew: low indices are common, high ones rare. */
const skewed = (rnd, size) => Math.min(size - 1, Math.floor(size * rnd() ** 3));

export const packageSpec = (i, words, scopes) => {
  const rnd = prng(1000 + i);
  const pick = () => words[skewed(rnd, words.length)];
  const scope = scopes[i % scopes.length];
  const name = `${words[Math.floor(rnd() * words.length)]}-${i}`;
  const description = Array.from({ length: 8 }, pick).join(' ');
  const tags = Array.from({ length: 3 }, pick);
  const category = CATEGORIES[Math.floor(rnd() * CATEGORIES.length)];
  return { scope, name, description, tags, category };
};

const file = (path, content) => {
  const body = Buffer.from(content);
  const header = Buffer.alloc(512);
  new Header({ path, mode: 0o644, size: body.length, mtime: new Date(0), type: 'File', uid: 0, gid: 0 }).encode(header, 0);
  return [header, body, Buffer.alloc((512 - (body.length % 512)) % 512)];
};

export const agentTarball = (spec) => {
  const yaml = [
    `name: ${spec.name}`,
    'version: 1.0.0',
    `description: ${spec.description}`,
    `author: "@${spec.scope}"`,
    'license: MIT',
    `tags: [${spec.tags.join(', ')}]`,
    `category: ${spec.category}`,
    '',
  ].join('\n');
  const readme = `# ${spec.name}\n\n${spec.description}\n`;
  // A copy: gzipSync's result is a view of a 16 KiB zlib buffer, which 100k tarballs would keep alive (1.6 GB).
  return Buffer.from(gzipSync(Buffer.concat([...file('agent.yaml', yaml), ...file('README.md', readme), Buffer.alloc(1024)])));
};
