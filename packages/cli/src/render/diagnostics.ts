import type { Diagnostic } from '@multiarch/core';
import type { Colors } from 'picocolors/types.js';
import { printable } from './printable.js';

/** How many diagnostics text output shows in full; `validate --format json` lists every one. */
export const SHOWN_DIAGNOSTICS = 100;

/**
 * Diagnostics as a person reads them: the first `limit` in full, one line counting the rest,
 * and the summary. Each file's lines are indexed once, however many diagnostics point into it.
 */
export function renderDiagnostics(
  diagnostics: readonly Diagnostic[],
  textOf: (file: string) => string | undefined,
  c: Colors,
  limit = SHOWN_DIAGNOSTICS,
): string {
  const indexes = new Map<string, LineIndex | undefined>();
  const linesOf = (file: string): LineIndex | undefined => {
    if (!indexes.has(file)) {
      const text = textOf(file);
      indexes.set(file, text === undefined ? undefined : lineIndex(text));
    }
    return indexes.get(file);
  };
  const shown = diagnostics.slice(0, limit);
  const blocks = shown.map((d) => renderDiagnostic(d, linesOf, c));
  const rest = diagnostics.slice(limit);
  if (rest.length > 0)
    blocks.push(`... and ${summarize(rest, 'more ')} (orchestrate validate --format json lists them all)`);
  return `${blocks.join('\n\n')}\n\n${summarize(diagnostics)}\n`;
}

/**
 * One diagnostic: place, severity, code, message, the source line with the range
 * underlined, and the hint.
 */
export function renderDiagnostic(
  diagnostic: Diagnostic,
  linesOf: (file: string) => LineIndex | undefined,
  c: Colors,
): string {
  const { file, range } = diagnostic;
  const place =
    file === undefined ? 'orchestrate' : printable(range ? `${file}:${range.start.line}:${range.start.col}` : file);
  const severity = diagnostic.severity === 'error' ? c.red(c.bold('error')) : c.yellow(c.bold('warning'));
  const lines = [`${c.bold(place)}  ${severity}  ${c.dim(diagnostic.code)}  ${printable(diagnostic.message)}`];
  const index = file === undefined ? undefined : linesOf(file);
  if (range && index) lines.push(...codeFrame(index, range, c));
  if (diagnostic.hint) lines.push(`  ${c.cyan('hint:')} ${printable(diagnostic.hint)}`);
  return lines.join('\n');
}

function codeFrame(index: LineIndex, range: NonNullable<Diagnostic['range']>, c: Colors): string[] {
  const source = index.line(range.start.line);
  if (source === undefined) return [];
  const number = String(range.start.line);
  const gutter = ' '.repeat(number.length);
  const expanded = source.replaceAll('\t', ' ');
  const endCol = range.end.line === range.start.line ? range.end.col : expanded.length + 1;
  const start = Math.min(range.start.col, expanded.length + 1) - 1;
  const end = Math.max(start + 1, Math.min(endCol, expanded.length + 1) - 1);
  // Carets under the escaped text: a control character is shown as several characters.
  const offset = printable(expanded.slice(0, start)).length;
  const width = Math.max(1, printable(expanded.slice(start, end)).length);
  return [
    `  ${c.dim(`${number} |`)} ${printable(expanded)}`,
    `  ${c.dim(`${gutter} |`)} ${' '.repeat(offset)}${c.red('^'.repeat(width))}`,
  ];
}

export interface LineIndex {
  /** The text of 1-based line `n`, without its line break; undefined past the end. */
  line(n: number): string | undefined;
}

/** Where each line of `text` starts, found in one pass: split at "\n" or "\r\n", as `split(/\r?\n/)` would. */
export function lineIndex(text: string): LineIndex {
  const starts = [0];
  for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) starts.push(at + 1);
  return {
    line(n) {
      const start = starts[n - 1];
      if (start === undefined) return undefined;
      const next = starts[n];
      if (next === undefined) return text.slice(start);
      return text.slice(start, text[next - 2] === '\r' ? next - 2 : next - 1);
    },
  };
}

/** "2 errors, 1 warning"; with `more`, "2 more errors, 1 more warning". */
export function summarize(diagnostics: readonly Diagnostic[], more = ''): string {
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.length - errors;
  const part = (n: number, word: string) => `${n} ${more}${word}${n === 1 ? '' : 's'}`;
  return [errors > 0 && part(errors, 'error'), warnings > 0 && part(warnings, 'warning')].filter(Boolean).join(', ');
}
