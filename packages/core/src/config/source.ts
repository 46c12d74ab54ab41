import { createRequire } from 'node:module';
import jsYaml from 'js-yaml';
import type { Document, Node as YamlNode, Pair, YAMLMap } from 'yaml';
import type { Diagnostic, Position, Range, Result } from '../diagnostics.js';
import { aliasOverLimit, MAX_NESTING_DEPTH, safeTooDeepOffset, tooDeepPath } from './limits.js';

/** `yaml` keeps source ranges but costs ~60 ms to load and ~8x js-yaml's time to parse: loaded only when needed. */
let yamlModule: typeof import('yaml') | undefined;
const loadYaml = (): typeof import('yaml') =>
  (yamlModule ??= createRequire(import.meta.url)('yaml') as typeof import('yaml'));

export type PathSegment = string | number;
export type SpecPath = readonly PathSegment[];

/**
 * A parsed spec and a way back from a path in its data to a range in its text.
 * Everything after parsing works on plain data and asks the source for ranges
 * only when it has something to report.
 */
export interface SpecSource {
  /** The file as the user should see it (relative to the working directory where possible). */
  readonly file: string;
  /** The whole file's text, for code frames; absent for JavaScript configs. */
  readonly text: string | undefined;
  /** The spec as plain data. */
  readonly data: unknown;
  /** Range of the key (`part: 'key'`) or the value at `path`, if it is in the text. */
  locate(path: SpecPath, part?: 'key' | 'value'): Range | undefined;
  /** Range of `needle` inside the source text of the value at `path` (e.g. one `${VAR}`). */
  locateWithin(path: SpecPath, needle: string): Range | undefined;
  /** The value at `path` exactly as written in the file (`1.10` where the data says 1.1). */
  written(path: SpecPath): string | undefined;
}

export const MAX_SPEC_BYTES = 1024 * 1024;
/** Caps alias expansion ("billion laughs"): a spec has no reason to expand more. */
export const MAX_ALIAS_COUNT = 1000;

export interface ParseOptions {
  /** Where the spec sits inside the document, e.g. ['multiarch'] in package.json. */
  readonly root?: SpecPath;
}

/**
 * Parses a spec. The data comes from js-yaml (core schema) on the fast path, for files
 * where it reads the same values as `yaml` (see READ_DIFFERENTLY); `yaml`'s document, which knows every node's range,
 * is built only when a range is asked for, that is when there is something to report.
 * Files with anchors, and files js-yaml rejects, go the `yaml` way from the start: it caps
 * alias expansion and reports every syntax error with its place.
 */
export function parseYamlSpec(file: string, text: string, options: ParseOptions = {}): Result<SpecSource> {
  if (!HAS_ANCHOR.test(text) && !READ_DIFFERENTLY.test(text)) {
    let data: unknown;
    try {
      data = jsYaml.load(text, { schema: jsYaml.CORE_SCHEMA, filename: file });
    } catch {
      return parseWithRanges(file, text, options);
    }
    // Too deep for the checks after parsing: the ranged parser says where.
    if (tooDeepPath(data)) return parseWithRanges(file, text, options);
    let ranged: SpecSource | undefined;
    const withRanges = (): SpecSource | undefined => {
      if (!ranged) {
        const result = parseWithRanges(file, text, options);
        ranged = result.ok ? result.value : plainSource(file, data);
      }
      return ranged;
    };
    return {
      ok: true,
      value: {
        file,
        text,
        data: dig(data, options.root ?? []),
        locate: (path, part) => withRanges()?.locate(path, part),
        locateWithin: (path, needle) => withRanges()?.locateWithin(path, needle),
        written: (path) => withRanges()?.written(path),
      },
      diagnostics: [],
    };
  }
  return parseWithRanges(file, text, options);
}

/** An anchor (`&name` after whitespace or a flow indicator): only then can aliases expand. */
const HAS_ANCHOR = /(?:^|[\s[{,:-])&[^\s]/m;
/**
 * What js-yaml's core schema reads otherwise than yaml (YAML 1.2): `-.5` (a string there),
 * `0b101` and signed hex (numbers there), `null:` and `~:` keys ("null" there), and a
 * %YAML directive. Such files take the ranged parser, so both paths give the same data.
 */
const READ_DIFFERENTLY =
  /(?:^|[\s[{,:])[-+]?\.\d|(?:^|[\s[{,:])(?:0b|[-+]0x)[\da-f]|(?:^|[\s{,])(?:null|Null|NULL|~)\s*:|^%YAML/im;

function parseWithRanges(file: string, text: string, options: ParseOptions): Result<SpecSource> {
  const { LineCounter, parseDocument } = loadYaml();
  const root = options.root ?? [];
  const lineCounter = new LineCounter();
  // yaml's own uniqueKeys check compares each key with every earlier one: seconds for a
  // mapping of 20,000 images. Duplicates are found here instead, in one pass per mapping.
  let parsed: ReturnType<typeof parseDocument> | undefined;
  try {
    parsed = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  } catch (error) {
    // Block sequences thousands deep (`- - - ...`) overflow the stack of yaml's parser itself.
    if (!(error instanceof RangeError)) throw error;
  }
  const at = (offset: number): Position => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, col: p.col };
  };
  const span = (start: number, end: number): Range => ({ start: at(start), end: at(Math.max(start, end)) });

  const tooDeep = (offset: number | undefined, fallback: Range | undefined): Result<SpecSource> => {
    const at = offset === undefined ? fallback : span(offset, offset + 1);
    return {
      ok: false,
      diagnostics: [
        {
          severity: 'error',
          code: 'yaml-depth-limit',
          message: `lists and mappings nest more than ${MAX_NESTING_DEPTH} deep here`,
          file,
          ...(at && { range: at }),
          hint: `a spec nests a few levels deep, at most ${MAX_NESTING_DEPTH}: check for "[" or "{" never closed, or aliases inside their own anchors`,
        },
      ],
    };
  };
  if (!parsed) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) lineCounter.addNewLine(i + 1);
    return tooDeep(safeTooDeepOffset(text), undefined);
  }
  const doc = parsed;
  // yaml's composer recurses: nesting thousands deep overflows its stack, which it reports as a syntax error.
  const overflow = doc.errors.find((error) => /call stack/i.test(error.message));
  if (overflow) return tooDeep(safeTooDeepOffset(text), span(overflow.pos[0], overflow.pos[1]));

  const errors = [...doc.errors, ...duplicateKeys(doc)].sort((a, b) => a.pos[0] - b.pos[0]);
  const diagnostics: Diagnostic[] = errors.map((error) => {
    const refined = refineYamlError(text, error.code, firstLine(error.message), error.pos);
    return {
      severity: 'error',
      code: error.code === 'DUPLICATE_KEY' ? 'duplicate-key' : 'yaml-syntax',
      message: refined.message,
      file,
      range: span(refined.start, refined.end),
      ...(refined.hint !== undefined && { hint: refined.hint }),
    } satisfies Diagnostic;
  });
  if (diagnostics.length > 0) return { ok: false, diagnostics };

  let whole: unknown;
  try {
    whole = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    if (error instanceof RangeError) return tooDeep(safeTooDeepOffset(text), undefined);
    const alias = aliasOverLimit(doc, MAX_ALIAS_COUNT)?.range;
    return {
      ok: false,
      diagnostics: [
        {
          severity: 'error',
          code: 'yaml-alias-limit',
          message: `aliases expand to more than ${MAX_ALIAS_COUNT} nodes${error instanceof Error && !/alias/i.test(error.message) ? ` (${firstLine(error.message)})` : ''}; this alias crosses the limit`,
          file,
          ...(alias && { range: span(alias[0], alias[1]) }),
          hint: `a spec may expand at most ${MAX_ALIAS_COUNT} aliases; write the repeated parts out or use fewer anchors`,
        },
      ],
    };
  }
  const deepPath = tooDeepPath(whole);
  if (deepPath) {
    // Deeper through aliases than in the text, or deep without overflowing the composer.
    const range = findNode(doc, deepPath)?.node?.range;
    return tooDeep(range?.[0] ?? safeTooDeepOffset(text), undefined);
  }

  const nodeAt = (path: SpecPath): { node: YamlNode | null; pair: Pair | undefined } | undefined =>
    findNode(doc, [...root, ...path]);

  const source: SpecSource = {
    file,
    text,
    data: dig(whole, root),
    locate(path, part = 'value') {
      const found = nodeAt(path);
      if (!found) return undefined;
      const target = part === 'key' && found.pair ? (found.pair.key as YamlNode | null) : found.node;
      const range = target?.range ?? (found.pair?.key as YamlNode | null)?.range;
      return range ? span(range[0], range[1]) : undefined;
    },
    locateWithin(path, needle) {
      const range = nodeAt(path)?.node?.range;
      if (!range) return source.locate(path);
      const index = text.slice(range[0], range[1]).indexOf(needle);
      if (index < 0) return span(range[0], range[1]);
      return span(range[0] + index, range[0] + index + needle.length);
    },
    written(path) {
      const range = nodeAt(path)?.node?.range;
      return range ? text.slice(range[0], range[1]) : undefined;
    },
  };
  return { ok: true, value: source, diagnostics: [] };
}

/** A source for specs that have no text we can point into (JavaScript configs). */
export function plainSource(file: string, data: unknown): SpecSource {
  return {
    file,
    text: undefined,
    data,
    locate: () => undefined,
    locateWithin: () => undefined,
    written: () => undefined,
  };
}

function findNode(doc: Document, path: SpecPath): { node: YamlNode | null; pair: Pair | undefined } | undefined {
  const { isAlias, isMap, isScalar, isSeq } = loadYaml();
  let node = doc.contents;
  let pair: Pair | undefined;
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(doc) ?? null;
    if (isMap(node)) {
      pair = pairsByKey(node, isScalar).get(String(segment));
      if (!pair) return undefined;
      node = pair.value as YamlNode | null;
    } else if (isSeq(node) && typeof segment === 'number') {
      pair = undefined;
      node = (node.items[segment] as YamlNode | undefined) ?? null;
      if (node === null) return undefined;
    } else {
      return undefined;
    }
  }
  if (isAlias(node)) node = node.resolve(doc) ?? node;
  return { node, pair };
}

/** Every key that repeats an earlier scalar key of its mapping, as yaml's uniqueKeys reports it. */
function duplicateKeys(doc: Document): { code: string; message: string; pos: [number, number] }[] {
  const { isScalar, visit } = loadYaml();
  const found: { code: string; message: string; pos: [number, number] }[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const { key } of map.items) {
        if (!isScalar(key)) continue;
        if (seen.has(key.value) && key.range)
          found.push({ code: 'DUPLICATE_KEY', message: 'Map keys must be unique', pos: [key.range[0], key.range[1]] });
        seen.add(key.value);
      }
    },
  });
  return found;
}

/**
 * A mapping's pairs by key, the first of each, indexed on the first lookup: searching the
 * items on every lookup made a diagnostic per image cost O(images): 20,000 of them, ~10 s.
 */
const PAIR_INDEX = new WeakMap<YAMLMap, Map<string, Pair>>();
function pairsByKey(map: YAMLMap, isScalar: (typeof import('yaml'))['isScalar']): Map<string, Pair> {
  let index = PAIR_INDEX.get(map);
  if (!index) {
    index = new Map();
    for (const item of map.items) {
      const key = isScalar(item.key) ? String(item.key.value) : undefined;
      if (key !== undefined && !index.has(key)) index.set(key, item);
    }
    PAIR_INDEX.set(map, index);
  }
  return index;
}

function dig(data: unknown, path: SpecPath): unknown {
  let value = data;
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[segment];
  }
  return value;
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

/**
 * yaml reports some errors where it noticed them (the end of the file, the next key); a
 * person needs the place where the mistake is: the quote or bracket left open, the key
 * written twice.
 */
function refineYamlError(
  text: string,
  code: string,
  message: string,
  pos: readonly [number, number],
): { start: number; end: number; message: string; hint?: string } {
  const at = Math.min(pos[0], Math.max(0, text.length - 1));
  const lineEnd = (offset: number) => {
    const end = text.indexOf('\n', offset);
    return end < 0 ? text.length : end;
  };
  const quote = /closing (["'])quote/.exec(message)?.[1];
  if (code === 'MISSING_CHAR' && quote) {
    const open = text.lastIndexOf(quote, at);
    if (open >= 0)
      return {
        start: open,
        end: lineEnd(open),
        message: `a ${quote === '"' ? 'double' : 'single'}-quoted value is never closed`,
        hint: 'close the quote on the same line, or write the value without quotes',
      };
  }
  if (/flow (sequence|mapping)/i.test(message)) {
    const open = unclosedFlow(text, at);
    if (open !== undefined) {
      const list = text[open] === '[';
      return {
        start: open,
        end: open + 1,
        message: `a ${list ? 'list "["' : 'mapping "{"'} is never closed`,
        hint: `close it with "${list ? ']' : '}'}" on the same line, or write ${list ? 'one "- item" per line' : 'one "key: value" per line'}`,
      };
    }
  }
  if (code === 'DUPLICATE_KEY') {
    const key = /^[^:\n#]*/
      .exec(text.slice(at))![0]
      .trim()
      .replace(/^["']|["']$/g, '');
    return {
      start: at,
      end: at + Math.max(1, key.length),
      message: `key "${key}" appears twice in the same mapping`,
      hint: 'a key may appear once per mapping; remove or rename one of them',
    };
  }
  const hint = yamlHint(code);
  return { start: at, end: Math.max(at, Math.min(pos[1], text.length)), message, ...(hint !== undefined && { hint }) };
}

/** The last "[" or "{" before `limit` that is not closed, outside quotes and comments. */
function unclosedFlow(text: string, limit: number): number | undefined {
  const open: number[] = [];
  let quote: string | undefined;
  for (let i = 0; i < limit; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\n') quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!)))
      i = text.indexOf('\n', i) < 0 ? limit : text.indexOf('\n', i);
    else if (c === '[' || c === '{') open.push(i);
    else if (c === ']' || c === '}') open.pop();
  }
  return open.at(-1);
}

function yamlHint(code: string): string | undefined {
  switch (code) {
    case 'TAB_AS_INDENT':
      return 'YAML indents with spaces, never tabs';
    case 'BAD_INDENT':
    case 'MISSING_CHAR':
      return 'check the indentation of this line against the lines above it';
    case 'BLOCK_AS_IMPLICIT_KEY':
    case 'MULTILINE_IMPLICIT_KEY':
      return 'a key must be on one line and followed by ":"; quote values that contain ": "';
    default:
      return undefined;
  }
}
