import fc from 'fast-check';
import { distance } from 'fastest-levenshtein';
import { describe, expect, it } from 'vitest';
import { closestMatch, Names, suggestion } from '../src/util/suggest.js';

/** The plain scan the prepared look-up must agree with: the first of the closest, if within a third of the length (at least 2). */
function plainClosest(input: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = distance(input.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(input.length / 3)) ? best : undefined;
}

describe('suggestions', () => {
  const word = fc.string({ unit: fc.constantFrom('a', 'b', 'A', 'B', '0', '1', '-', 'é', 'İ', 'x'), maxLength: 9 });

  it('answers as the plain scan does, skipping only what cannot be closer', () => {
    fc.assert(
      fc.property(word, fc.array(word, { maxLength: 15 }), (input, candidates) => {
        expect(closestMatch(input, candidates)).toBe(plainClosest(input, candidates));
        const names = new Names(candidates);
        // Asked again, with its character masks worked out by then: the same answer.
        expect(names.closest(input)).toBe(plainClosest(input, candidates));
        expect(names.closest(input)).toBe(plainClosest(input, candidates));
      }),
      { numRuns: 2000 },
    );
  });

  it('never suggests the name it is told to leave out', () => {
    const names = new Names(['base', 'bsae', 'api']);
    expect(names.closest('bsae')).toBe('bsae');
    expect(names.closest('bsae', 'bsae')).toBe('base');
    expect(suggestion('bsae', names, 'images', 'bsae')).toBe('did you mean "base"?');
  });

  it('lists at most 10 known names, then how many more: one hint per unknown name must not grow with the spec', () => {
    const many = Array.from({ length: 30 }, (_, i) => `image-number-${i}`);
    expect(suggestion('zzz', many, 'images')).toBe(
      `known images: ${many
        .slice(0, 10)
        .map((n) => `"${n}"`)
        .join(', ')} and 20 more`,
    );
    expect(suggestion('zzz', ['a-long-name', 'other-name'], 'images')).toBe(
      'known images: "a-long-name", "other-name"',
    );
    expect(suggestion('zzz', [], 'hosts')).toBe('no hosts declared');
    expect(suggestion('zzz', new Names(['only']), 'images', 'only')).toBe('no images declared');
  });
});
