/**
 * `${NAME}` and `${NAME:-default}` in spec strings; `$${` writes a literal `${`.
 * Also the Containerfile flavour (`$NAME`, `${NAME:+alt}`) for ARG values in FROM lines.
 */

export type Lookup = (name: string) => string | undefined;

export interface Expansion {
  value: string;
  /** Names that had no value and no default, each with the text that referred to it. */
  undefinedNames: { name: string; text: string }[];
  /** Every name looked up, for tracing secrets into arguments. */
  referenced: string[];
}

const CONTAINERFILE_PATTERN = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;
const REFERENCE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;

/** `${NAME}`, `${NAME:-default}` (defaults nest to any depth), `$${` for a literal `${`; anything else stays as written. */
export function expandSpecString(text: string, lookup: Lookup): Expansion {
  const undefinedNames: Expansion['undefinedNames'] = [];
  const referenced: string[] = [];
  let value = '';
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('$${', i)) {
      value += '${';
      i += 3;
      continue;
    }
    const end = text.startsWith('${', i) ? closingBrace(text, i + 1) : -1;
    if (end < 0) {
      value += text.charAt(i);
      i++;
      continue;
    }
    const whole = text.slice(i, end + 1);
    const match = REFERENCE.exec(text.slice(i + 2, end));
    i = end + 1;
    if (!match) {
      value += whole;
      continue;
    }
    const [, name, fallback] = match as unknown as [string, string, string | undefined];
    referenced.push(name);
    const found = lookup(name);
    if (found !== undefined && found !== '') {
      value += found;
    } else if (fallback !== undefined) {
      const inner = expandSpecString(fallback, lookup);
      undefinedNames.push(...inner.undefinedNames);
      referenced.push(...inner.referenced);
      value += inner.value;
    } else if (found === undefined) {
      undefinedNames.push({ name, text: whole });
      value += whole;
    }
  }
  return { value, undefinedNames, referenced };
}

/** Index of the `}` that closes the `{` at `open`, or -1. */
function closingBrace(text: string, open: number): number {
  let depth = 0;
  for (let j = open; j < text.length; j++) {
    if (text[j] === '{') depth++;
    else if (text[j] === '}' && --depth === 0) return j;
  }
  return -1;
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

/**
 * Resolves the spec's `variables` section: the environment wins, then the file's value
 * (which may itself refer to the environment or to other variables).
 */
export function resolveVariables(
  declared: Readonly<Record<string, string>>,
  env: Readonly<Record<string, string | undefined>>,
): {
  values: Map<string, string>;
  /** Every name each file variable read, through other variables too: how a secret is traced into an argument. */
  reads: Map<string, Set<string>>;
  problems: { name: string; kind: 'undefined' | 'cycle'; detail: string }[];
} {
  const values = new Map<string, string>();
  const reads = new Map<string, Set<string>>();
  const problems: { name: string; kind: 'undefined' | 'cycle'; detail: string }[] = [];
  const resolving: string[] = [];

  const resolve = (name: string): string | undefined => {
    const fromEnv = env[name];
    if (fromEnv !== undefined) return fromEnv;
    if (values.has(name)) return values.get(name);
    const raw = declared[name];
    if (raw === undefined) return undefined;
    if (resolving.includes(name)) {
      const cycle = [...resolving.slice(resolving.indexOf(name)), name].join(' -> ');
      problems.push({ name: resolving[0]!, kind: 'cycle', detail: cycle });
      return '';
    }
    resolving.push(name);
    const expansion = expandSpecString(raw, resolve);
    resolving.pop();
    for (const missing of expansion.undefinedNames) {
      problems.push({ name, kind: 'undefined', detail: missing.text });
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
