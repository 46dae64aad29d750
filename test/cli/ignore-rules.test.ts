import { describe, expect, it } from 'vitest';
import { parseIgnoreRules } from '../../src/cli/ignore-rules.js';

describe('.agentryignore rules', () => {
  const rules = parseIgnoreRules(['# comment', '', '*.log', 'build/', '/secret.txt', 'docs/*.draft.md', '**/fixtures/**', 'tmp?', '!keep.log', '[ab].bin'].join('\n'));

  it.each([
    ['debug.log', false, true],
    ['deep/down/debug.log', false, true],
    ['keep.log', false, false],
    ['build', true, true],
    ['build', false, false],
    ['src/build', true, true],
    ['secret.txt', false, true],
    ['sub/secret.txt', false, false],
    ['docs/intro.draft.md', false, true],
    ['docs/deep/intro.draft.md', false, false],
    ['docs/intro.md', false, false],
    ['test/fixtures/a.json', false, true],
    ['fixtures/a/b.json', false, true],
    ['tmp1', false, true],
    ['tmp12', false, false],
    ['a.bin', false, true],
    ['c.bin', false, false],
    ['agent.yaml', false, false],
  ])('%s (dir: %s) ignored: %s', (path, isDir, ignored) => {
    expect(rules.ignores(path, isDir)).toBe(ignored);
  });
});
