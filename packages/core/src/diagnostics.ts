/**
 * The one Diagnostic type. Every stage (parse, schema, resolve, plan) reports
 * problems as Diagnostics, so the CLI renders them one way and tests assert
 * on `code` and position rather than on wording.
 */

export type Severity = 'error' | 'warning';

/** Codes are stable: tests, `validate --format json` and docs key on them. */
export type DiagnosticCode =
  | 'config-not-found'
  | 'file-unreadable'
  | 'file-too-large'
  | 'not-a-regular-file'
  | 'config-format-refused'
  | 'yaml-syntax'
  | 'yaml-alias-limit'
  | 'yaml-depth-limit'
  | 'duplicate-key'
  | 'not-a-mapping'
  | 'unknown-key'
  | 'missing-key'
  | 'wrong-type'
  | 'invalid-value'
  /** A `timeout:` that is not a duration, or out of range. */
  | 'invalid-duration'
  | 'ambiguous-number'
  | 'unsupported-version'
  | 'invalid-name'
  | 'undefined-variable'
  | 'variable-cycle'
  | 'expansion-too-deep'
  | 'expansion-too-long'
  | 'invalid-platform'
  | 'platform-alias'
  | 'unbuildable-platform'
  | 'unknown-registry'
  | 'unknown-host'
  | 'unknown-image'
  | 'dependency-cycle'
  | 'short-registry-name'
  | 'short-name-from'
  | 'inline-secret'
  | 'secret-in-argument'
  | 'secret-build-arg'
  | 'containerfile-not-found'
  | 'context-not-found'
  | 'invalid-ssh-address'
  | 'special-file'
  | 'env-in-build-arg'
  | 'filter-no-match'
  | 'filter-drops-dependency'
  | 'secret-not-set'
  | 'connection-not-found'
  | 'file-unwritable'
  | 'invalid-plan'
  | 'plan-out-of-date'
  | 'base-not-found'
  | 'spec-exists'
  | 'no-containerfiles'
  | 'key-exists'
  | 'passphrase-missing'
  | 'passphrase-mismatch';

export interface Position {
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  col: number;
}

export interface Range {
  start: Position;
  end: Position;
}

export interface Diagnostic {
  severity: Severity;
  code: DiagnosticCode;
  message: string;
  /** Path of the file the diagnostic is about, as given or found (not resolved). */
  file?: string;
  range?: Range;
  hint?: string;
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/** Sort by file, then position, so output order does not depend on check order. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return [...diagnostics].sort(
    (a, b) =>
      (a.file ?? '').localeCompare(b.file ?? '') ||
      (a.range?.start.line ?? 0) - (b.range?.start.line ?? 0) ||
      (a.range?.start.col ?? 0) - (b.range?.start.col ?? 0) ||
      a.code.localeCompare(b.code),
  );
}

/** The result of a stage: a value when nothing fatal happened, and every diagnostic either way. */
export type Result<T> = { ok: true; value: T; diagnostics: Diagnostic[] } | { ok: false; diagnostics: Diagnostic[] };

export function unreachable(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}
