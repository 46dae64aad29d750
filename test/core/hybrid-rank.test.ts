import { describe, expect, it } from 'vitest';
import { RRF_K, reciprocalRankFusion } from '../../src/core/search/hybrid-rank.js';
import { EMBEDDING_TEXT_MAX, embeddingText } from '../../src/core/search/embedding-text.js';

describe('reciprocal rank fusion', () => {
  it('ranks what both lists hold above what one holds, by Σ 1/(k + rank)', () => {
    // 3: 1/(k+3) + 1/(k+1); 1: 1/(k+1); 7: 1/(k+2) + 1/(k+3); 9: 1/(k+2).
    expect(
      reciprocalRankFusion([
        [1, 9, 3],
        [3, 7],
      ]),
    ).toEqual([3, 1, 9, 7]);
    const score = (ranks: number[]) => ranks.reduce((s, r) => s + 1 / (RRF_K + r), 0);
    expect(score([3, 1])).toBeGreaterThan(score([1]));
  });

  it('keeps the first list’s order between equal scores, and an empty list changes nothing', () => {
    expect(
      reciprocalRankFusion([
        [4, 5],
        [5, 4],
      ]),
    ).toEqual([4, 5]);
    expect(reciprocalRankFusion([[], [8, 2]])).toEqual([8, 2]);
    expect(reciprocalRankFusion([[], []])).toEqual([]);
  });
});

describe('the text a package is embedded from', () => {
  const pkg = { scope: 'alice', name: 'purr-helper', description: 'Looks after cats', readme: '# Purr\n\nBody', tags: ['pets', 'cats'], latestVersion: '1.0.0' };

  it('holds the name, description, tags and readme, cut at the bound', () => {
    expect(embeddingText(pkg)).toBe('purr helper (@alice/purr-helper)\n\nLooks after cats\n\nTags: pets, cats\n\n# Purr\n\nBody');
    expect(embeddingText({ ...pkg, readme: 'x'.repeat(20_000) })).toHaveLength(EMBEDDING_TEXT_MAX);
  });

  it('is empty when nothing is published', () => {
    expect(embeddingText({ ...pkg, latestVersion: null })).toBe('');
  });
});
