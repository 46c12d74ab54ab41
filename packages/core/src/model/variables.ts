/**
 * `${NAME}` and `${NAME:-default}` in spec strings; `$${` writes a literal `${`.
 * Also the Containerfile flavour (`$NAME`, `${NAME:+alt}`) for ARG values in FROM lines.
 */

export type Lookup = (name: string) => string | undefined;

/**
 * Limits of `${...}` expansion, like the alias limit of the YAML parser: a spec has no reason
 * to come near them, and without them a hostile one overflows the stack (defaults nested
 * thousands deep, variables reading each other in a chain of thousands) or the heap
 * (variables that double at each step).
 */
export const EXPANSION_LIMITS = {
  /** Nested defaults (`${A:-${B:-...}}`), and variables reading variables, each at most this deep. */
  depth: 32,
  /** Characters of one expanded value. */
  length: 64 * 1024,
  /** Characters expanded for the whole spec, every value together. */
  total: 16 * 1024 * 1024,
} as const;

/** What is left of the spec's expansion budget (EXPANSION_LIMITS.total); shared by every expansion of one spec. */
export interface ExpansionBudget {
  left: number;
}

export const expansionBudget = (): ExpansionBudget => ({ left: EXPANSION_LIMITS.total });

/** A limit that stopped an expansion, and the reference at which it was crossed. */
export interface OverLimit {
  /** depth: nesting (EXPANSION_LIMITS.depth); length: one value; total: the whole spec. */
  kind: 'depth' | 'length' | 'total';
  /** The `${...}` being expanded when the limit was crossed, as written. */
  text: string;
}

export interface Expansion {
  value: string;
  /** Names that had no value and no default, each with the text that referred to it. */
  undefinedNames: { name: string; text: string }[];
  /** Every name looked up, for tracing secrets into arguments. */
  referenced: string[];
  /** Set when a limit stopped the expansion: the value is then incomplete. */
  overLimit?: OverLimit;
}

const CONTAINERFILE_PATTERN = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/**
 * `${NAME}`, `${NAME:-default}` (defaults nest, up to EXPANSION_LIMITS.depth), `$${` for a
 * literal `${`; anything else stays as written. Stops at the first limit crossed, saying so
 * in `overLimit`.
 */
export function expandSpecString(text: string, lookup: Lookup, budget: ExpansionBudget = expansionBudget()): Expansion {
  const expansion: Expansion = { value: '', undefinedNames: [], referenced: [] };
  if (!text.includes('${')) return { ...expansion, value: text };
  const closing = matchingBraces(text);
  const stop = (kind: OverLimit['kind'], from: number, to: number): void => {
    expansion.overLimit ??= { kind, text: text.slice(from, to + 1) };
  };

  /** Expands text[start, end) `depth` defaults deep; undefined once a limit is crossed. */
  const expandRange = (start: number, end: number, depth: number): string | undefined => {
    let out = '';
    let i = start;
    while (i < end) {
      if (text.startsWith('$${', i) && i + 3 <= end) {
        out += '${';
        i += 3;
        continue;
      }
      const close = text.startsWith('${', i) ? closing[i + 1]! : -1;
      if (close < 0 || close >= end) {
        out += text.charAt(i);
        i++;
        continue;
      }
      const from = i;
      i = close + 1;
      const written = text.slice(from, close + 1);
      const reference = referenceAt(text, from + 2, close);
      let piece: string | undefined = written;
      if (reference) {
        expansion.referenced.push(reference.name);
        const found = lookup(reference.name);
        if (found !== undefined && found !== '') piece = found;
        else if (reference.fallbackStart === undefined) {
          if (found === '') piece = '';
          else expansion.undefinedNames.push({ name: reference.name, text: written });
        } else if (depth < EXPANSION_LIMITS.depth) piece = expandRange(reference.fallbackStart, close, depth + 1);
        else piece = undefined;
        if (piece === undefined) stop('depth', from, close);
      }
      if (piece === undefined) return undefined;
      const crossed =
        out.length + piece.length > EXPANSION_LIMITS.length
          ? 'length'
          : piece.length > budget.left
            ? 'total'
            : undefined;
      if (crossed) {
        stop(crossed, from, close);
        return undefined;
      }
      budget.left -= piece.length;
      out += piece;
    }
    return out;
  };

  expansion.value = expandRange(0, text.length, 0) ?? '';
  return expansion;
}

/** What a crossed limit is called in a diagnostic. */
export function describeOverLimit(kind: OverLimit['kind']): {
  code: 'expansion-too-deep' | 'expansion-too-long';
  message: string;
  hint: string;
} {
  switch (kind) {
    case 'depth':
      return {
        code: 'expansion-too-deep',
        message: `\${...} references nest more than ${EXPANSION_LIMITS.depth} deep here (defaults inside defaults, or variables reading variables)`,
        hint: `write the value out, or use fewer levels: at most ${EXPANSION_LIMITS.depth}`,
      };
    case 'length':
      return {
        code: 'expansion-too-long',
        message: `this value expands to more than ${EXPANSION_LIMITS.length} characters`,
        hint: 'a value of the spec has no reason to be this long: check for variables that repeat each other',
      };
    case 'total':
      return {
        code: 'expansion-too-long',
        message: `the spec's \${...} references expand to more than ${EXPANSION_LIMITS.total} characters in all`,
        hint: 'check for variables that repeat each other',
      };
  }
}

const NAME_AT = /([A-Za-z_][A-Za-z0-9_]*)(:-)?/y;

/** `NAME` or `NAME:-default` filling text[start, end) exactly, or undefined when the braces hold anything else. */
function referenceAt(text: string, start: number, end: number): { name: string; fallbackStart?: number } | undefined {
  NAME_AT.lastIndex = start;
  const match = NAME_AT.exec(text);
  if (!match) return undefined;
  const after = start + match[0].length;
  // A name stops at "}", and ":-" cannot straddle it: the match never runs past `end`.
  if (match[2] !== undefined) return { name: match[1]!, fallbackStart: after };
  return after === end ? { name: match[1]! } : undefined;
}

/**
 * For each "{" of text, the index of the "}" that closes it, or -1; in one pass, so that a
 * string of many unclosed `${` costs no more than one of a few.
 */
function matchingBraces(text: string): Int32Array {
  const closing = new Int32Array(text.length).fill(-1);
  const open: number[] = [];
  for (let j = 0; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === 0x7b) open.push(j);
    else if (c === 0x7d && open.length > 0) closing[open.pop()!] = j;
  }
  return closing;
}

/** Docker's rules: `${A:-x}` uses x when A is unset or empty, `${A:+x}` uses x when A is set. */
export function expandContainerfileString(text: string, lookup: Lookup): string {
  return text.replace(
    CONTAINERFILE_PATTERN,
    (
      _match,
      braced: string | undefined,
      operator: string | undefined,
      word: string | undefined,
      bare: string | undefined,
    ) => {
      const value = lookup((braced ?? bare)!);
      if (operator === '-') return value === undefined || value === '' ? (word ?? '') : value;
      if (operator === '+') return value === undefined || value === '' ? '' : (word ?? '');
      return value ?? '';
    },
  );
}

export type VariableProblem = {
  /** The variable where the problem is reported. */
  name: string;
  kind: 'undefined' | 'cycle' | OverLimit['kind'];
  /** undefined: the reference; cycle: the path; a limit: the reference where it was crossed. */
  detail: string;
  /** Every variable whose value the problem left unusable. */
  unusable: string[];
};

/**
 * Resolves the spec's `variables` section: the environment wins, then the file's value
 * (which may itself refer to the environment or to other variables). Within the expansion
 * limits: a chain of variables reading each other ends at EXPANSION_LIMITS.depth, and one
 * such problem is reported, not one per variable of a long chain.
 */
export function resolveVariables(
  declared: Readonly<Record<string, string>>,
  env: Readonly<Record<string, string | undefined>>,
  budget: ExpansionBudget = expansionBudget(),
): {
  values: Map<string, string>;
  /** Every name each file variable read, through other variables too: how a secret is traced into an argument. */
  reads: Map<string, Set<string>>;
  problems: VariableProblem[];
} {
  const values = new Map<string, string>();
  const reads = new Map<string, Set<string>>();
  const problems: VariableProblem[] = [];
  const resolving: string[] = [];
  // The first limit crossed; after it, what is left of a chain is not expanded, and each variable a limit stopped is unusable.
  let limitProblem: VariableProblem | undefined;

  // Only the first limit crossed is reported; every variable a limit stopped is unusable.
  const reportLimit = (name: string, overLimit: OverLimit): void => {
    limitProblem ??= { name, kind: overLimit.kind, detail: overLimit.text, unusable: [...resolving] };
    if (!problems.includes(limitProblem)) problems.push(limitProblem);
    limitProblem.unusable.push(name);
  };

  const resolve = (name: string): string | undefined => {
    const fromEnv = env[name];
    if (fromEnv !== undefined) return fromEnv;
    if (values.has(name)) return values.get(name);
    const raw = declared[name];
    if (raw === undefined) return undefined;
    if (limitProblem) {
      limitProblem.unusable.push(name);
      return '';
    }
    if (resolving.includes(name)) {
      const cycle = [...resolving.slice(resolving.indexOf(name)), name].join(' -> ');
      problems.push({ name: resolving[0]!, kind: 'cycle', detail: cycle, unusable: [resolving[0]!] });
      return '';
    }
    if (resolving.length >= EXPANSION_LIMITS.depth) {
      limitProblem = { name: resolving.at(-1)!, kind: 'depth', detail: `\${${name}`, unusable: [...resolving] };
      problems.push(limitProblem);
      return '';
    }
    resolving.push(name);
    const expansion = expandSpecString(raw, resolve, budget);
    resolving.pop();
    if (expansion.overLimit) reportLimit(name, expansion.overLimit);
    for (const missing of expansion.undefinedNames) {
      problems.push({ name, kind: 'undefined', detail: missing.text, unusable: [name] });
    }
    const read = new Set<string>();
    for (const other of expansion.referenced) {
      read.add(other);
      for (const indirect of reads.get(other) ?? []) read.add(indirect);
    }
    reads.set(name, read);
    values.set(name, expansion.value);
    return expansion.value;
  };

  for (const name of Object.keys(declared)) values.set(name, resolve(name) ?? '');
  return { values, reads, problems };
}
