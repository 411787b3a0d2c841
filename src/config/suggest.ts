/**
 * "Did you mean" for unknown keys and enum values: a candidate that equals the input once case,
 * `-` and `_` are ignored (`data_dir` -> `dataDir`), or else the closest one within a small edit
 * distance.
 */

function squash(s: string): string {
  return s.toLowerCase().replace(/[-_]/g, '');
}

/**
 * Edit distance counting a swap of two neighbours as one edit (optimal string alignment), so
 * `prot` is one edit from `port`. Inputs are short keys: a full matrix is fine.
 */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, d[i - 2]![j - 2]! + 1);
      d[i]![j] = value;
    }
  }
  return d[a.length]![b.length]!;
}

/** The best candidate for `input`, or undefined when none is close. */
export function suggest(input: string, candidates: readonly string[]): string | undefined {
  const squashed = squash(input);
  const exact = candidates.find((c) => squash(c) === squashed);
  if (exact !== undefined) return exact;
  if (squashed.length > 64) return undefined;
  const limit = squashed.length <= 4 ? 1 : 2;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const c of candidates) {
    const d = distance(squashed, squash(c));
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** `; did you mean "x"?` or the empty string. */
export function didYouMean(input: string, candidates: readonly string[]): string {
  const s = suggest(input, candidates);
  return s === undefined ? '' : `; did you mean "${s}"?`;
}
