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

const SPEC_PATTERN = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-((?:[^{}]|\{[^{}]*\})*))?\}/g;
const CONTAINERFILE_PATTERN = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

export function expandSpecString(text: string, lookup: Lookup): Expansion {
  const undefinedNames: Expansion['undefinedNames'] = [];
  const referenced: string[] = [];
  const value = text.replace(SPEC_PATTERN, (match, name: string | undefined, fallback: string | undefined) => {
    if (name === undefined) return '${';
    referenced.push(name);
    const found = lookup(name);
    if (found !== undefined && found !== '') return found;
    if (fallback !== undefined) {
      const inner = expandSpecString(fallback, lookup);
      undefinedNames.push(...inner.undefinedNames);
      referenced.push(...inner.referenced);
      return inner.value;
    }
    if (found === '') return '';
    undefinedNames.push({ name, text: match });
    return match;
  });
  return { value, undefinedNames, referenced };
}

/** Docker's rules: `${A:-x}` uses x when A is unset or empty, `${A:+x}` uses x when A is set. */
export function expandContainerfileString(text: string, lookup: Lookup): string {
  return text.replace(
    CONTAINERFILE_PATTERN,
    (_match, braced: string | undefined, operator: string | undefined, word: string | undefined, bare: string | undefined) => {
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
): { values: Map<string, string>; problems: { name: string; kind: 'undefined' | 'cycle'; detail: string }[] } {
  const values = new Map<string, string>();
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
    values.set(name, expansion.value);
    return expansion.value;
  };

  for (const name of Object.keys(declared)) values.set(name, resolve(name) ?? '');
  return { values, problems };
}
