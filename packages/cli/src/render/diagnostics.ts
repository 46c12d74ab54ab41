import type { Diagnostic } from '@multiarch/core';
import type { Colors } from 'picocolors/types.js';

/**
 * A diagnostic as a person reads it: place, severity, code, message, the source line
 * with the range underlined, and the hint.
 */
export function renderDiagnostic(diagnostic: Diagnostic, textOf: (file: string) => string | undefined, c: Colors): string {
  const { file, range } = diagnostic;
  const place = file === undefined ? 'orchestrate' : range ? `${file}:${range.start.line}:${range.start.col}` : file;
  const severity = diagnostic.severity === 'error' ? c.red(c.bold('error')) : c.yellow(c.bold('warning'));
  const lines = [`${c.bold(place)}  ${severity}  ${c.dim(diagnostic.code)}  ${diagnostic.message}`];
  const text = file === undefined ? undefined : textOf(file);
  if (range && text !== undefined) lines.push(...codeFrame(text, range, c));
  if (diagnostic.hint) lines.push(`  ${c.cyan('hint:')} ${diagnostic.hint}`);
  return lines.join('\n');
}

function codeFrame(text: string, range: NonNullable<Diagnostic['range']>, c: Colors): string[] {
  const source = text.split(/\r?\n/)[range.start.line - 1];
  if (source === undefined) return [];
  const number = String(range.start.line);
  const gutter = ' '.repeat(number.length);
  const expanded = source.replaceAll('\t', ' ');
  const endCol = range.end.line === range.start.line ? range.end.col : expanded.length + 1;
  const width = Math.max(1, Math.min(endCol, expanded.length + 1) - range.start.col);
  return [
    `  ${c.dim(`${number} |`)} ${expanded}`,
    `  ${c.dim(`${gutter} |`)} ${' '.repeat(range.start.col - 1)}${c.red('^'.repeat(width))}`,
  ];
}

export function summarize(diagnostics: readonly Diagnostic[]): string {
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.length - errors;
  const part = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  return [errors > 0 && part(errors, 'error'), warnings > 0 && part(warnings, 'warning')].filter(Boolean).join(', ');
}
