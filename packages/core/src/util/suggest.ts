import { distance } from 'fastest-levenshtein';

/** How many names a "known ...:" hint lists: one hint per unknown name, so a long list made output quadratic. */
const LISTED = 10;

/**
 * Names to suggest from, prepared once for many look-ups (an unknown dependency per image
 * asks the same 20,000 names 20,000 times). Answers exactly as the plain scan would: the
 * first of the closest names, if close enough.
 */
export class Names {
  private readonly names: readonly string[];
  private readonly lowers: readonly string[];
  /** The characters each uses, hashed to 32 bits; worked out when first needed (a one-off look-up needs few). */
  private readonly masks: Int32Array;
  private readonly masked: Uint8Array;

  constructor(names: Iterable<string>) {
    this.names = [...names];
    this.lowers = this.names.map((name) => name.toLowerCase());
    this.masks = new Int32Array(this.names.length);
    this.masked = new Uint8Array(this.names.length);
  }

  get size(): number {
    return this.names.length;
  }

  /** The name closest to `input` (never `except`), if it is close enough to be what was meant. */
  closest(input: string, except?: string): string | undefined {
    const lower = input.toLowerCase();
    const mask = charMask(lower);
    // A third of the length (at least 2) catches transpositions and typos, not unrelated words.
    const threshold = Math.max(2, Math.floor(input.length / 3));
    let best: string | undefined;
    let bestDistance = threshold + 1;
    for (let i = 0; i < this.names.length; i++) {
      const candidate = this.lowers[i]!;
      // Cheap lower bounds of the distance: skip what could not be closer than the best so far.
      // An edit changes the length by at most 1, and the set of characters used by at most 2.
      const limit = bestDistance - 1;
      if (Math.abs(candidate.length - lower.length) > limit) continue;
      if (this.masked[i] === 0) {
        this.masks[i] = charMask(candidate);
        this.masked[i] = 1;
      }
      if (Math.ceil(popCount(this.masks[i]! ^ mask) / 2) > limit) continue;
      if (this.names[i] === except) continue;
      const d = distance(lower, candidate);
      if (d < bestDistance) {
        best = this.names[i];
        bestDistance = d;
        if (d === 0) break;
      }
    }
    return best;
  }

  /** `"a", "b"`, at most LISTED of them, then how many more. */
  quoted(except?: string): string {
    const names = this.names.filter((name) => name !== except);
    const more = names.length - LISTED;
    return quoteList(names.slice(0, LISTED)) + (more > 0 ? ` and ${more} more` : '');
  }
}

/** The candidate closest to `input`, if it is close enough to be what was meant. */
export function closestMatch(input: string, candidates: Iterable<string>): string | undefined {
  return new Names(candidates).closest(input);
}

/** "did you mean X?" or what is valid: a hint either way. `except` is never suggested (the name itself). */
export function suggestion(
  input: string,
  candidates: readonly string[] | Names,
  what: string,
  except?: string,
): string {
  const names = candidates instanceof Names ? candidates : new Names(candidates);
  const match = names.closest(input, except);
  if (match !== undefined) return `did you mean "${match}"?`;
  const listed = names.quoted(except);
  return listed === '' ? `no ${what} declared` : `known ${what}: ${listed}`;
}

export function quoteList(values: readonly string[]): string {
  return values.map((v) => `"${v}"`).join(', ');
}

function charMask(text: string): number {
  let mask = 0;
  for (let i = 0; i < text.length; i++) mask |= 1 << (text.charCodeAt(i) & 31);
  return mask;
}

function popCount(bits: number): number {
  let n = bits - ((bits >>> 1) & 0x55555555);
  n = (n & 0x33333333) + ((n >>> 2) & 0x33333333);
  return (((n + (n >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}
