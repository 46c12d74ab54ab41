import { createRequire } from 'node:module';
import type { Alias, Document } from 'yaml';
import type { CST } from 'yaml';
import type { PathSegment } from './source.js';

/**
 * How deep collections may nest in a spec. A spec is a few levels deep; thousands (`[[[[...`)
 * overflowed the stack of yaml's composer, and of every recursive walk after it.
 */
export const MAX_NESTING_DEPTH = 64;

const loadYaml = (): typeof import('yaml') => createRequire(import.meta.url)('yaml') as typeof import('yaml');

/** The path to the first collection of `data` nested deeper than MAX_NESTING_DEPTH, or undefined; without recursion. */
export function tooDeepPath(data: unknown): PathSegment[] | undefined {
  interface Entry {
    value: unknown;
    depth: number;
    parent: Entry | undefined;
    key: PathSegment | undefined;
  }
  const stack: Entry[] = [{ value: data, depth: 0, parent: undefined, key: undefined }];
  while (stack.length > 0) {
    const entry = stack.pop()!;
    if (entry.value === null || typeof entry.value !== 'object') continue;
    const depth = entry.depth + 1;
    if (depth > MAX_NESTING_DEPTH) {
      const path: PathSegment[] = [];
      for (let at: Entry | undefined = entry; at?.key !== undefined; at = at.parent) path.unshift(at.key);
      return path;
    }
    const children: [PathSegment, unknown][] = Array.isArray(entry.value)
      ? entry.value.map((value, i): [PathSegment, unknown] => [i, value])
      : Object.entries(entry.value);
    for (const [key, value] of children.reverse()) stack.push({ value, depth, parent: entry, key });
  }
  return undefined;
}

/**
 * The offset of the first collection of the text nested deeper than MAX_NESTING_DEPTH, from
 * yaml's concrete syntax tree: its parser builds that without recursion, where the composer
 * that makes a document of it overflows the stack.
 */
export function tooDeepOffset(text: string): number | undefined {
  const stack: { token: CST.Token | undefined; depth: number }[] = [];
  for (const token of new (loadYaml().Parser)().parse(text)) stack.push({ token, depth: 0 });
  while (stack.length > 0) {
    const { token, depth } = stack.pop()!;
    if (!token) continue;
    if (token.type === 'document') {
      stack.push({ token: token.value, depth });
    } else if (token.type === 'block-map' || token.type === 'block-seq' || token.type === 'flow-collection') {
      if (depth + 1 > MAX_NESTING_DEPTH) return token.offset;
      for (const item of token.items) {
        stack.push({ token: item.value, depth: depth + 1 });
        if ('key' in item) stack.push({ token: item.key ?? undefined, depth: depth + 1 });
      }
    }
  }
  return undefined;
}

/**
 * The alias at which yaml's alias limit (maxAliasCount) is crossed. yaml's error names no
 * node: each alias of this document is wrapped (on the node, not yaml's prototype) to note
 * the first that throws, and the document converted again. Only after toJS threw.
 */
export function aliasOverLimit(doc: Document, maxAliasCount: number): Alias | undefined {
  const { visit } = loadYaml();
  let failing: Alias | undefined;
  visit(doc, {
    Alias(_, alias) {
      const toJSON = alias.toJSON.bind(alias);
      alias.toJSON = (arg, ctx) => {
        try {
          return toJSON(arg, ctx);
        } catch (error) {
          failing ??= alias;
          throw error;
        }
      };
    },
  });
  try {
    doc.toJS({ maxAliasCount });
  } catch {
    // expected: it is what is being located
  }
  return failing;
}

/**
 * tooDeepOffset, or where a plain scan of the text first nests too deep when yaml's parser
 * itself overflows on it (block sequences thousands deep: `- - - ...`): flow brackets
 * outside quotes, and the `- ` / `key: ` entries opening a line, counted as nesting.
 */
export function safeTooDeepOffset(text: string): number {
  try {
    const offset = tooDeepOffset(text);
    if (offset !== undefined) return offset;
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
  }
  let flow = 0;
  let quote: string | undefined;
  let lineStart = true;
  let block = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\n') {
      lineStart = true;
      block = 0;
      continue;
    }
    if (quote) {
      if (c === quote) quote = undefined;
      continue;
    }
    if (lineStart && c === '-' && (text[i + 1] === ' ' || text[i + 1] === '\n')) block++;
    else if (c !== ' ') lineStart = c === '-' ? lineStart : false;
    if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '{') flow++;
    else if (c === ']' || c === '}') flow--;
    if (flow + block > MAX_NESTING_DEPTH) return i;
  }
  return 0;
}
