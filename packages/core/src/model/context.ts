import type { Diagnostic, DiagnosticCode, Range, Severity } from '../diagnostics.js';
import type { SpecPath, SpecSource } from '../config/source.js';
import { expandSpecString } from './variables.js';

/** Reads files the spec names, relative to the spec's directory. Injected so resolution stays testable without a disk. */
export interface SpecFiles {
  readText(relativePath: string): string | undefined;
  isDirectory(relativePath: string): boolean;
  /** Whether anything is there, without reading it (an authfile holds secrets). */
  exists(relativePath: string): boolean;
}

/** Collects diagnostics with ranges, and interpolates `${VAR}` with the location of each problem. */
export class ResolveContext {
  readonly diagnostics: Diagnostic[] = [];

  constructor(
    readonly source: SpecSource,
    private readonly lookup: (name: string) => string | undefined,
    /** Environment variables that hold registry secrets: never to be expanded into an argument. */
    private readonly secretNames: ReadonlySet<string>,
    /** Variables whose own value could not be resolved (already reported where they are declared). */
    private readonly unusable: ReadonlySet<string> = new Set(),
    /** Names each file variable reads, transitively. */
    private readonly reads: ReadonlyMap<string, ReadonlySet<string>> = new Map(),
  ) {}

  report(severity: Severity, code: DiagnosticCode, path: SpecPath, message: string, hint?: string, part: 'key' | 'value' = 'value'): void {
    this.push(severity, code, this.source.locate(path, part), message, hint);
  }

  error(code: DiagnosticCode, path: SpecPath, message: string, hint?: string, part: 'key' | 'value' = 'value'): void {
    this.report('error', code, path, message, hint, part);
  }

  push(severity: Severity, code: DiagnosticCode, range: Range | undefined, message: string, hint?: string, file = this.source.file): void {
    this.diagnostics.push({ severity, code, message, file, ...(range && { range }), ...(hint !== undefined && { hint }) });
  }

  /** `${NAME}` expanded; an undefined name or a secret's name is reported at its place in the text. */
  interpolate(path: SpecPath, text: string): string {
    return this.expand(path, text).value;
  }

  /**
   * Like interpolate, and says whether the value is usable: false when a variable in it was
   * undefined (reported here, or where that variable is declared), so that checks of the
   * value (is it a tag, a directory...) do not report the same mistake a second time.
   */
  expand(path: SpecPath, text: string): { value: string; ok: boolean } {
    const expansion = expandSpecString(text, this.lookup);
    for (const missing of expansion.undefinedNames) {
      this.push(
        'error',
        'undefined-variable',
        this.source.locateWithin(path, missing.text),
        `variable "${missing.name}" is not defined`,
        `set ${missing.name} in the environment, add it under "variables:", or give a default: \${${missing.name}:-value}`,
      );
    }
    let secret = false;
    for (const name of new Set(expansion.referenced)) {
      const held = [name, ...(this.reads.get(name) ?? [])].filter((n) => this.secretNames.has(n));
      if (held.length === 0) continue;
      secret = true;
      this.push(
        'error',
        'secret-in-argument',
        this.nameRange(path, name),
        held[0] === name
          ? `"${name}" holds a registry secret and would end up in a command's arguments`
          : `variable "${name}" reads ${held.join(', ')}, which holds a registry secret, and would put it in a command's arguments`,
        'secrets reach podman only through passwordEnv (on stdin); use a build secret (--secret) for values the build needs',
      );
    }
    const unusable = [...expansion.referenced].some((name) => this.unusable.has(name));
    // A value holding a secret is not checked any further: no later message may repeat it.
    return { value: expansion.value, ok: expansion.undefinedNames.length === 0 && !unusable && !secret };
  }

  /** The range of NAME in `${NAME...}` inside the value at path. */
  private nameRange(path: SpecPath, name: string): Range | undefined {
    const range = this.source.locateWithin(path, `\${${name}`);
    if (!range || range.start.line !== range.end.line) return range;
    const col = range.start.col + 2;
    return { start: { line: range.start.line, col }, end: { line: range.start.line, col: col + name.length } };
  }
}

/**
 * A scalar as a string. YAML reads 1.10 as the number 1.1 and 1e3 as 1000: where that
 * changed what was written, the written text is kept and a warning says to quote it.
 */
export function writtenScalar(source: SpecSource, path: SpecPath, value: string | number | boolean, report: (d: Diagnostic) => void): string {
  if (typeof value !== 'number') return String(value);
  const written = source.written(path)?.trim();
  if (written === undefined || written === String(value)) return String(value);
  const range = source.locate(path);
  report({
    severity: 'warning',
    code: 'ambiguous-number',
    message: `YAML reads ${written} as the number ${value}; it is used as written, "${written}"`,
    file: source.file,
    ...(range && { range }),
    hint: `quote it: "${written}"`,
  });
  return written;
}
