import type { Diagnostic, DiagnosticCode, Range, Severity } from '../diagnostics.js';
import type { SpecPath, SpecSource } from '../config/source.js';
import type { SpecialKind } from './context-files.js';
import { describeOverLimit, expandSpecString, expansionBudget, type ExpansionBudget } from './variables.js';

/** Reads files the spec names, relative to the spec's directory. Injected so resolution stays testable without a disk. */
export interface SpecFiles {
  /** A regular file's text, through symlinks; undefined for anything else (never blocks on a FIFO). */
  readText(relativePath: string): string | undefined;
  isDirectory(relativePath: string): boolean;
  /** Whether anything is there, without reading it (an authfile holds secrets). */
  exists(relativePath: string): boolean;
  /**
   * What in a build context is neither a regular file, a directory nor a symlink (FIFOs,
   * sockets, devices), as the upload to a build host walks it (walkContext: ignore files
   * applied, the containerfile left to the caller). Paths relative to the context.
   */
  specialFiles(context: string, containerfile: string): { path: string; kind: SpecialKind }[];
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
    /** Names declared under `variables:`. */
    private readonly declared: ReadonlySet<string> = new Set(),
    /** What is left of the spec's expansion limit, shared with the variables' own expansion. */
    private readonly budget: ExpansionBudget = expansionBudget(),
  ) {}

  report(
    severity: Severity,
    code: DiagnosticCode,
    path: SpecPath,
    message: string,
    hint?: string,
    part: 'key' | 'value' = 'value',
  ): void {
    this.push(severity, code, this.source.locate(path, part), message, hint);
  }

  error(code: DiagnosticCode, path: SpecPath, message: string, hint?: string, part: 'key' | 'value' = 'value'): void {
    this.report('error', code, path, message, hint, part);
  }

  push(
    severity: Severity,
    code: DiagnosticCode,
    range: Range | undefined,
    message: string,
    hint?: string,
    file = this.source.file,
  ): void {
    this.diagnostics.push({
      severity,
      code,
      message,
      file,
      ...(range && { range }),
      ...(hint !== undefined && { hint }),
    });
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
    const expansion = expandSpecString(text, this.lookup, this.budget);
    if (expansion.overLimit) {
      const { code, message, hint } = describeOverLimit(expansion.overLimit.kind);
      this.push('error', code, this.source.locateWithin(path, expansion.overLimit.text), message, hint);
      return { value: expansion.value, ok: false };
    }
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
          ? `"${name}" holds a secret (a registry's passwordEnv or a build secret) and would end up in a command's arguments`
          : `variable "${name}" reads ${held.join(', ')}, which holds a secret, and would put it in a command's arguments`,
        'secrets reach podman only through passwordEnv (on stdin) or secrets: (a 0600 file); the build reads one with RUN --mount=type=secret,id=ID',
      );
    }
    const unusable = [...expansion.referenced].some((name) => this.unusable.has(name));
    // A value holding a secret is not checked any further: no later message may repeat it.
    return { value: expansion.value, ok: expansion.undefinedNames.length === 0 && !unusable && !secret };
  }

  /**
   * `${NAME}` reads any environment variable, and build args may stay in the image's history
   * for anyone who pulls it: a name in a build arg that the spec neither declares under
   * `variables:` nor gives a default where it is used (`${NAME:-value}` says here what the
   * value is) is a warning, so that what the spec reads from a CI runner is listed in one
   * place. Unset, such a name is an undefined-variable error already; a registry's
   * secret is secret-in-argument. Names inside defaults count too: they are read when
   * the outer one is unset.
   */
  checkBuildArgReads(path: SpecPath, arg: string, text: string): void {
    const withoutDefault = new Set(
      expandSpecString(text, () => undefined, this.budget).undefinedNames.map((missing) => missing.name),
    );
    for (const name of withoutDefault) {
      if (this.declared.has(name) || this.secretNames.has(name) || this.lookup(name) === undefined) continue;
      this.push(
        'warning',
        'env-in-build-arg',
        this.nameRange(path, name),
        `build arg ${arg} reads the environment variable "${name}", which the spec does not declare; build args can stay in the image's history`,
        `declare it under "variables:" (${name}: a default) if the image is meant to get it; a secret goes in a build secret (RUN --mount=type=secret), never a build arg`,
      );
    }
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
export function writtenScalar(
  source: SpecSource,
  path: SpecPath,
  value: string | number | boolean,
  report: (d: Diagnostic) => void,
): string {
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
