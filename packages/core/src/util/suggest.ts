import { distance } from 'fastest-levenshtein';

/** The candidate closest to `input`, if it is close enough to be what was meant. */
export function closestMatch(input: string, candidates: Iterable<string>): string | undefined {
  const lower = input.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = distance(lower, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  // A third of the length (at least 2) catches transpositions and typos, not unrelated words.
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(input.length / 3)) ? best : undefined;
}

/** "did you mean X?" or the list of what is valid: a hint either way. */
export function suggestion(input: string, candidates: readonly string[], what: string): string {
  const match = closestMatch(input, candidates);
  if (match !== undefined) return `did you mean "${match}"?`;
  if (candidates.length === 0) return `no ${what} declared`;
  return `known ${what}: ${candidates.map((c) => `"${c}"`).join(', ')}`;
}

export function quoteList(values: readonly string[]): string {
  return values.map((v) => `"${v}"`).join(', ');
}
