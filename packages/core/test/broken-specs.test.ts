/**
 * The broken-spec suite: every file in test/fixtures/broken/ is a small spec with one
 * problem (a few have several, to show that every diagnostic of a stage is reported at
 * once). Each file says what it expects in its leading comment block (the `#` lines
 * before the first line of YAML):
 *
 *   # expect: CODE LINE:COL            an error CODE whose range starts at LINE:COL (1-based) of multiarch.yaml
 *   # expect: CODE LINE:COL warning    the same, a warning
 *   # expect: CODE PATH:LINE:COL       located in another file (a Containerfile), path relative to the spec
 *   # expect: CODE nowhere             about the whole file: `file` set, no range
 *   #   message: TEXT                  the message of the expect line above contains TEXT
 *   #   hint: TEXT                     its hint contains TEXT
 *   #   hint-not: TEXT                 its hint does not contain TEXT
 *   # never: TEXT                      no message or hint of the file contains TEXT (secrets)
 *
 * The expect lines are the whole list: a diagnostic nobody expected fails the fixture too.
 *
 * Files the spec names come from memory, not from disk. By default every image's context
 * directory exists and holds a trivial `Containerfile` (FROM docker.io/library/busybox),
 * except a context written with `${...}` (with no environment, no such directory exists).
 * Fixtures change that with:
 *
 *   # file: PATH: CONTENT    the file PATH (relative to the spec) holds CONTENT; `\n` is a newline
 *   # nofile: PATH           PATH does not exist (e.g. the default Containerfile)
 *   # dir: PATH              PATH is an (empty) directory
 *   # nodir: PATH            PATH does not exist, nor anything under it
 *   # env: NAME=VALUE        the environment has NAME set (default: empty environment)
 *   # special: PATH KIND     PATH is a FIFO, socket, character device or block device
 *                            (KIND as the walk names it), found by the walk of its context
 *
 * Each fixture is parsed with parseYamlSpec('multiarch.yaml', text) and, when that works,
 * analysed with analyzeSource(source, { env: {}, localPlatform: 'linux/amd64', localJobs: 2, files }).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path/posix';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { analyzeSource } from '../src/analyze.js';
import { parseYamlSpec } from '../src/config/source.js';
import type { Diagnostic, DiagnosticCode, Severity } from '../src/diagnostics.js';
import type { SpecFiles } from '../src/model/context.js';
import type { SpecialKind } from '../src/model/context-files.js';

const SPEC_FILE = 'multiarch.yaml';
const FIXTURES = fileURLToPath(new URL('./fixtures/broken/', import.meta.url));
const DEFAULT_CONTAINERFILE = 'FROM docker.io/library/busybox\n';

/** Codes a spec (with its Containerfiles) can produce; each must be shown by some fixture. */
const SPEC_CODES: readonly DiagnosticCode[] = [
  'yaml-syntax',
  'yaml-alias-limit',
  'yaml-depth-limit',
  'duplicate-key',
  'not-a-mapping',
  'unknown-key',
  'missing-key',
  'wrong-type',
  'invalid-value',
  'ambiguous-number',
  'unsupported-version',
  'invalid-name',
  'undefined-variable',
  'variable-cycle',
  'expansion-too-deep',
  'expansion-too-long',
  'invalid-platform',
  'platform-alias',
  'unbuildable-platform',
  'unknown-registry',
  'unknown-host',
  'unknown-image',
  'dependency-cycle',
  'short-registry-name',
  'short-name-from',
  'inline-secret',
  'secret-in-argument',
  'containerfile-not-found',
  'context-not-found',
  'invalid-ssh-address',
  'special-file',
  'env-in-build-arg',
  'invalid-duration',
  // Not here: config-not-found, file-unreadable, file-too-large, not-a-regular-file and
  // config-format-refused are about finding and
  // reading the file (load.test.ts); filter-* come from the planner's
  // command-line filters; unknown-host has no spec field that names a host.
];

interface Expectation {
  code: string;
  severity: Severity;
  file: string;
  /** undefined: the diagnostic is about the whole file and has no range. */
  at: { line: number; col: number } | undefined;
  messageHas: string[];
  hintHas: string[];
  hintLacks: string[];
}

interface Fixture {
  name: string;
  text: string;
  expectations: Expectation[];
  never: string[];
  files: Record<string, string>;
  noFiles: string[];
  dirs: string[];
  noDirs: string[];
  env: Record<string, string>;
  special: { path: string; kind: SpecialKind }[];
}

function readFixture(name: string): Fixture {
  const text = readFileSync(path.join(FIXTURES, name), 'utf8');
  const fixture: Fixture = {
    name,
    text,
    expectations: [],
    never: [],
    files: {},
    noFiles: [],
    dirs: [],
    noDirs: [],
    env: {},
    special: [],
  };
  for (const line of text.split('\n')) {
    if (!line.startsWith('#')) break;
    const body = line.slice(1).trim();
    const directive = /^(expect|message|hint|hint-not|never|file|nofile|dir|nodir|env|special):\s*(.*)$/.exec(body);
    if (!directive) continue;
    const [, kind, rest] = directive as unknown as [string, string, string];
    const last = fixture.expectations.at(-1);
    switch (kind) {
      case 'expect':
        fixture.expectations.push(parseExpectation(name, rest));
        break;
      case 'message':
      case 'hint':
      case 'hint-not':
        if (!last) throw new Error(`${name}: "${kind}:" before any "expect:"`);
        (kind === 'message' ? last.messageHas : kind === 'hint' ? last.hintHas : last.hintLacks).push(rest);
        break;
      case 'never':
        fixture.never.push(rest);
        break;
      case 'file': {
        const colon = rest.indexOf(': ');
        if (colon < 0) throw new Error(`${name}: "file:" needs "PATH: CONTENT"`);
        fixture.files[rest.slice(0, colon)] = rest.slice(colon + 2).replaceAll('\\n', '\n') + '\n';
        break;
      }
      case 'nofile':
        fixture.noFiles.push(rest);
        break;
      case 'dir':
        fixture.dirs.push(rest);
        break;
      case 'nodir':
        fixture.noDirs.push(rest);
        break;
      case 'env': {
        const eq = rest.indexOf('=');
        if (eq < 1) throw new Error(`${name}: "env:" needs "NAME=VALUE"`);
        fixture.env[rest.slice(0, eq)] = rest.slice(eq + 1);
        break;
      }
      case 'special': {
        const match = /^(\S+)\s+(FIFO|socket|character device|block device)$/.exec(rest.trim());
        if (!match) throw new Error(`${name}: "special:" needs "PATH KIND"`);
        fixture.special.push({ path: normalise(match[1]!), kind: match[2] as SpecialKind });
        break;
      }
    }
  }
  if (fixture.expectations.length === 0) throw new Error(`${name}: no "# expect:" line`);
  return fixture;
}

function parseExpectation(name: string, rest: string): Expectation {
  const match = /^([a-z-]+)\s+(?:(nowhere)|(?:(.+):)?(\d+):(\d+))(?:\s+(error|warning))?$/.exec(rest.trim());
  if (!match) throw new Error(`${name}: cannot read "# expect: ${rest}"`);
  const [, code, nowhere, file, line, col, severity] = match;
  return {
    code: code!,
    severity: severity === 'warning' ? 'warning' : 'error',
    file: file ?? SPEC_FILE,
    at: nowhere ? undefined : { line: Number(line), col: Number(col) },
    messageHas: [],
    hintHas: [],
    hintLacks: [],
  };
}

/** Normalised as the resolver normalises a context: posix, no "./", no trailing "/". */
function normalise(relative: string): string {
  const normalised = path.normalize(relative);
  return normalised === '' ? '.' : normalised.replace(/\/$/, '');
}

function isUnder(file: string, dir: string): boolean {
  return file === dir || file.startsWith(`${dir}/`);
}

/** The fixture's files: default contexts and Containerfiles, then its own directives. */
function filesFor(fixture: Fixture, data: unknown): SpecFiles {
  const files = new Map<string, string>();
  const dirs = new Set<string>(['.']);
  const images = (data as { images?: unknown } | null | undefined)?.images;
  if (images !== null && typeof images === 'object' && !Array.isArray(images)) {
    for (const image of Object.values(images as Record<string, unknown>)) {
      const context = (image as { context?: unknown } | null)?.context;
      if (typeof context !== 'string' || context.includes('${')) continue;
      const dir = normalise(context);
      dirs.add(dir);
      files.set(path.join(dir, 'Containerfile'), DEFAULT_CONTAINERFILE);
    }
  }
  for (const [file, content] of Object.entries(fixture.files)) files.set(normalise(file), content);
  for (const file of fixture.noFiles) files.delete(normalise(file));
  for (const dir of fixture.dirs) dirs.add(normalise(dir));
  for (const file of files.keys()) {
    const parts = file.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  for (const gone of fixture.noDirs.map(normalise)) {
    for (const dir of [...dirs]) if (isUnder(dir, gone)) dirs.delete(dir);
    for (const file of [...files.keys()]) if (isUnder(file, gone)) files.delete(file);
  }
  return {
    readText: (relative) => files.get(normalise(relative)),
    isDirectory: (relative) => dirs.has(normalise(relative)),
    exists: (relative) => files.has(normalise(relative)) || dirs.has(normalise(relative)),
    specialFiles: (context) => {
      const dir = normalise(context);
      return fixture.special
        .filter((f) => dir === '.' || f.path.startsWith(`${dir}/`))
        .map((f) => ({ ...f, path: dir === '.' ? f.path : f.path.slice(dir.length + 1) }));
    },
  };
}

interface Outcome {
  ok: boolean;
  diagnostics: Diagnostic[];
}

function run(fixture: Fixture): Outcome {
  const parsed = parseYamlSpec(SPEC_FILE, fixture.text);
  if (!parsed.ok) return { ok: false, diagnostics: parsed.diagnostics };
  const result = analyzeSource(parsed.value, {
    env: fixture.env,
    localPlatform: 'linux/amd64',
    localJobs: 2,
    files: filesFor(fixture, parsed.value.data),
  });
  return { ok: result.ok, diagnostics: result.diagnostics };
}

const keyOf = (
  severity: Severity,
  code: string,
  file: string | undefined,
  at: { line: number; col: number } | undefined,
): string => `${severity} ${code} ${file ?? '(no file)'}:${at ? `${at.line}:${at.col}` : 'nowhere'}`;

const actualKey = (d: Diagnostic): string => keyOf(d.severity, d.code, d.file, d.range?.start);
const expectedKey = (e: Expectation): string => keyOf(e.severity, e.code, e.file, e.at);

/** What a failing assertion prints: enough to see what the spec got instead. */
const describeAll = (diagnostics: readonly Diagnostic[]): string =>
  diagnostics.map((d) => `${actualKey(d)}  ${d.message}${d.hint ? `  [hint: ${d.hint}]` : ''}`).join('\n') || '(none)';

const names = readdirSync(FIXTURES)
  .filter((name) => name.endsWith('.yaml'))
  .sort();
const fixtures = names.map(readFixture);

describe('broken specs', () => {
  it('has a fixture for every rule', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(32);
    const covered = new Set(fixtures.flatMap((f) => f.expectations.map((e) => e.code)));
    expect(SPEC_CODES.filter((code) => !covered.has(code))).toEqual([]);
  });

  describe.each(fixtures.map((fixture) => [fixture.name, fixture] as const))('%s', (_name, fixture) => {
    const outcome = (): Outcome => {
      let result: Outcome | undefined;
      expect(() => {
        result = run(fixture);
      }).not.toThrow();
      return result!;
    };

    it('reports exactly the expected diagnostics, each where the problem is', () => {
      const { diagnostics } = outcome();
      const actual = diagnostics.map(actualKey).sort();
      const expected = fixture.expectations.map(expectedKey).sort();
      expect(actual, describeAll(diagnostics)).toEqual(expected);
    });

    it('says what is wrong and how to fix it', () => {
      const { diagnostics } = outcome();
      for (const expectation of fixture.expectations) {
        // Where it is wrong is the test above's business: here, the same code in the same file will do.
        const found =
          diagnostics.find((d) => actualKey(d) === expectedKey(expectation)) ??
          diagnostics.find((d) => d.code === expectation.code && d.file === expectation.file);
        if (!found) continue; // missing altogether: reported by the test above
        for (const text of expectation.messageHas) expect(found.message, describeAll([found])).toContain(text);
        for (const text of expectation.hintHas) expect(found.hint ?? '', describeAll([found])).toContain(text);
        for (const text of expectation.hintLacks) expect(found.hint ?? '', describeAll([found])).not.toContain(text);
      }
      for (const secret of fixture.never) {
        for (const d of diagnostics) {
          expect(d.message, 'a diagnostic repeats a secret').not.toContain(secret);
          expect(d.hint ?? '', 'a diagnostic repeats a secret').not.toContain(secret);
        }
      }
    });

    it('gives every diagnostic a file, a range, a message, and ok: false on errors', () => {
      const { ok, diagnostics } = outcome();
      expect(diagnostics.length).toBeGreaterThan(0);
      const fileLevel = new Set(fixture.expectations.filter((e) => e.at === undefined).map((e) => e.code));
      for (const d of diagnostics) {
        const shown = describeAll([d]);
        expect(d.file, shown).toBeDefined();
        expect(d.message.trim(), shown).not.toBe('');
        expect(d.message, `${shown}\nthe message should not start or end with whitespace`).toBe(d.message.trim());
        if (d.hint !== undefined) expect(d.hint.trim(), shown).not.toBe('');
        if (!fileLevel.has(d.code)) {
          expect(d.range, shown).toBeDefined();
          const { start, end } = d.range!;
          expect(start.line, shown).toBeGreaterThanOrEqual(1);
          expect(start.col, shown).toBeGreaterThanOrEqual(1);
          expect(
            end.line > start.line || (end.line === start.line && end.col >= start.col),
            `${shown}\nrange ends before it starts`,
          ).toBe(true);
        }
      }
      const hasError = diagnostics.some((d) => d.severity === 'error');
      expect(ok).toBe(!hasError);
      expect(ok).toBe(!fixture.expectations.some((e) => e.severity === 'error'));
    });
  });
});
