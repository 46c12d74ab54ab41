/**
 * Values from the spec, podman or a registry, made safe to print on a text line. A carriage
 * return or an escape sequence in a RUN step's output could otherwise rewrite earlier lines
 * or forge a line of ours, and a newline in a tag could start a line with `::error::` (a CI
 * annotation). Such characters are shown, not obeyed: `\r`, `\n`, `\x1b`, `\u2028`.
 *
 * Hand-written: the libraries at hand strip escape sequences (strip-ansi, which leaves a bare
 * CR) or escape for JavaScript source (jsesc, which also rewrites `\` and quotes); here
 * ordinary text, backslashes and TAB must come through unchanged.
 */
import { shellWord } from '@multiarch/core';

/**
 * C0 controls but TAB, DEL, C1 controls (U+0085 NEL, U+009B CSI among them), the line and
 * paragraph separators, and the bidi embeddings, overrides and isolates that can make a line
 * read otherwise than it is ("Trojan Source").
 */
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escapeOne(char: string): string {
  if (char === '\n') return '\\n';
  if (char === '\r') return '\\r';
  const code = char.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** `text` with every control character written out as an escape; everything else as it is. */
export function printable(text: string): string {
  return text.replace(CONTROL, escapeOne);
}

/**
 * A line that starts (after blanks or color codes) with `::` or `##[` is a workflow command
 * to GitHub Actions (`::error::`, `::add-mask::`, `##[group]`), whatever wrote it: a path, a
 * podman path or a name at the start of one of our lines must not be one. Its first
 * character is written as an escape; no line of ours starts so on purpose.
 */
// Blanks as the runner trims them (any white space), color codes, then the command's start.
const WORKFLOW_COMMAND = /^((?:[^\S\n]|\x1b\[[0-9;]*m)*)(:(?=:)|#(?=#\[))/gm;

export function noWorkflowCommands(text: string): string {
  return text.replace(WORKFLOW_COMMAND, (_match, lead: string, first: string) => `${lead}${escapeOne(first)}`);
}

/**
 * The same for every string inside plain objects and arrays (an event, a plan, a report), so
 * a renderer escapes the values once and lays out its own lines from them. Anything else (a
 * Date) is kept as it is.
 */
export function printableDeep<T>(value: T): T {
  return deep(value) as T;
}

function deep(value: unknown): unknown {
  if (typeof value === 'string') return printable(value);
  if (Array.isArray(value)) return value.map(deep);
  if (value !== null && typeof value === 'object') {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) return value;
    return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, deep(v)]));
  }
  return value;
}

/**
 * One word of a command a person can paste: as the shell quotes it, or, when it holds a
 * control character, in `$'...'` (POSIX.1-2024, bash, zsh), whose escapes give back the
 * exact bytes.
 */
export function shellDisplayWord(word: string): string {
  if (printable(word) === word) return shellWord(word);
  return `$'${printable(word.replaceAll('\\', '\\\\').replaceAll("'", "\\'"))}'`;
}
