/** The constant of reciprocal rank fusion (Cormack et al., 2009): how much the first ranks weigh over the rest. */
export const RRF_K = 60;

/**
 * Reciprocal rank fusion of ranked lists of ids: each id scores Σ 1 / (RRF_K + rank) over the lists
 * it is in (rank from 1; a list it is not in adds nothing), and the ids are returned best first,
 * ties in the order of the first list that holds them. Rank-based, so the keyword list's BM25 /
 * ts_rank and the vector list's cosine need no common scale.
 */
export const reciprocalRankFusion = (lists: readonly (readonly number[])[]): number[] => {
  const score = new Map<number, number>();
  const firstSeen = new Map<number, number>();
  let seen = 0;
  for (const list of lists) {
    list.forEach((id, i) => {
      score.set(id, (score.get(id) ?? 0) + 1 / (RRF_K + i + 1));
      if (!firstSeen.has(id)) firstSeen.set(id, seen++);
    });
  }
  return [...score.keys()].sort((a, b) => score.get(b)! - score.get(a)! || firstSeen.get(a)! - firstSeen.get(b)!);
};
