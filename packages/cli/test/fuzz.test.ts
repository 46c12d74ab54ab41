/**
 * The whole CLI against mutated and random specs, in-process (main() with a captured Io):
 * every run ends, within a time bound, with exit 0, or exit 2 and a diagnostic; never an
 * exception out of main(), an "internal error" or a stack trace. Seeds: the examples, the
 * broken fixtures of core, random YAML, random spec-shaped documents.
 * Child processes with a memory bound run the hostile specs (hostile-specs.test.ts).
 *
 * FUZZ_RUNS=N scales every property (default: a few hundred runs in all, for CI).
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import pc from 'picocolors';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/program.js';
import type { Io } from '../src/io.js';
import { REPO } from './paths.js';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 40);
/** One CLI run on a spec of at most 1 MiB: generous for a loaded 2-core machine. */
const CASE_MS = 10_000;

/**
 * The commands each case runs, with the spec as multiarch.yaml in the working directory.
 * `init` goes here when it lands: it writes multiarch.yaml, so give it a directory of its
 * own (the mutated files as Containerfiles) and check the spec it writes with `validate`.
 */
const COMMANDS: readonly (readonly string[])[] = [
  ['validate'],
  ['validate', '--format', 'json'],
  ['plan', '--local-platform', 'linux/amd64', '--local-jobs', '2'],
  ['plan', '--local-platform', 'linux/arm64', '--format', 'json', '--config-format', 'yaml,json'],
];

const STACK_FRAME = /^\s+at .+(:\d+:\d+\)?|\(native\)|<anonymous>\)?)$/m;

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(args: readonly string[], cwd: string, env: Record<string, string>): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const colors = pc.createColors(false);
  const io: Io = {
    cwd,
    env,
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    colors: { stdout: colors, stderr: colors },
  };
  // main() throwing is what bin.ts prints as "internal error": the test fails with it.
  const code = await main(args, io);
  return { code, stdout, stderr };
}

/** What every run must satisfy; `what` names the case in the failure. */
function expectClean(outcome: Outcome, what: string, ms: number): void {
  const all = `${outcome.stdout}\n${outcome.stderr}`;
  expect([0, 2], `${what}: exit ${outcome.code}\n${outcome.stderr.slice(0, 2000)}`).toContain(outcome.code);
  expect(all, what).not.toMatch(/internal error/i);
  expect(all, what).not.toMatch(STACK_FRAME);
  expect(all, what).not.toMatch(/Maximum call stack|Invalid string length|heap out of memory/);
  expect(ms, `${what}: took ${Math.round(ms)} ms`).toBeLessThan(CASE_MS);
  if (outcome.code !== 2) return;
  if (outcome.stdout.trimStart().startsWith('{"valid"') || outcome.stdout.trimStart().startsWith('{\n  "valid"')) {
    const report = JSON.parse(outcome.stdout) as { valid: boolean; diagnostics: { severity: string }[] };
    expect(report.valid, what).toBe(false);
    expect(report.diagnostics.some((d) => d.severity === 'error')).toBe(true);
  } else {
    // A diagnostic: "PLACE  error  CODE  message", the place being file[:line:col] or "orchestrate".
    expect(outcome.stderr, what).toMatch(/^\S.*  error  [a-z-]+  \S/m);
  }
}

const made: string[] = [];
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A copy of `from` (or an empty directory with app/Containerfile) to write specs into. */
function workdir(from?: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'orchestrate-fuzz-'));
  made.push(dir);
  if (from) cpSync(from, dir, { recursive: true });
  else {
    cpSync(path.join(REPO, 'examples/hello/Containerfile'), path.join(dir, 'app/Containerfile'), { recursive: true });
  }
  return dir;
}

async function check(dir: string, spec: string, env: Record<string, string> = {}): Promise<void> {
  writeFileSync(path.join(dir, 'multiarch.yaml'), spec);
  for (const args of COMMANDS) {
    const started = performance.now();
    const outcome = await run(args, dir, env);
    expectClean(outcome, `orchestrate ${args.join(' ')} on:\n${spec.slice(0, 400)}`, performance.now() - started);
  }
}

/** Pieces of YAML and of `${...}` syntax that break parsers and expanders. */
const HOSTILE_PIECES = [
  '[',
  ']',
  '{',
  '}',
  '&a ',
  '*a',
  '${',
  '${A:-',
  '}',
  '$${',
  ': ',
  '- ',
  '? ',
  '\t',
  '\n',
  '\r',
  '"',
  "'",
  '#',
  '|',
  '>-',
  '!!binary ',
  '!!str ',
  '---\n',
  '...\n',
  '%YAML 1.1\n',
  '\u0000',
  '\uFEFF',
  '\u2028',
  '💥',
  '<<: *a',
  '0x1F',
  '-.5',
  '~',
  'null',
  '1e999',
  '${V0}',
  '--volume=/tmp/x:/host',
  '::error::x',
  '../..',
  '/dev/zero',
];

/** A text mutation: delete, duplicate, or insert a hostile piece (possibly repeated) at a place. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 80 }) }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    piece: fc.oneof(fc.constantFrom(...HOSTILE_PIECES), fc.string({ maxLength: 8 })),
    times: fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 8000 })),
  }),
  // Balanced nesting, thousands deep: what overflowed the parser's and the expander's stacks.
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    piece: fc
      .tuple(fc.constantFrom(['[', ']'], ['{a: ', '}'], ['${A:-', '}'], ['- ', '']), fc.integer({ min: 1, max: 8000 }))
      .map(([[open, close], depth]) => `${open.repeat(depth)}x${close.repeat(depth)}`),
    times: fc.constant(1),
  }),
);

function mutate(text: string, mutations: readonly Mutation[]): string {
  let out = text;
  for (const m of mutations) {
    const at = out.length === 0 ? 0 : m.at % out.length;
    if (m.kind === 'delete') out = out.slice(0, at) + out.slice(at + m.length);
    else if (m.kind === 'duplicate') out = out.slice(0, at + m.length) + out.slice(at);
    else out = out.slice(0, at) + m.piece.repeat(m.times) + out.slice(at);
  }
  return out;
}
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

const EXAMPLES = readdirSync(path.join(REPO, 'examples'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => path.join(REPO, 'examples', entry.name));
const BROKEN_DIR = path.join(REPO, 'packages/core/test/fixtures/broken');
const BROKEN = readdirSync(BROKEN_DIR)
  .filter((name) => name.endsWith('.yaml'))
  .map((name) => readFileSync(path.join(BROKEN_DIR, name), 'utf8'));

/** Spec-shaped documents: right keys, random values, so that cases get past the schema into resolve and plan. */
const word = fc.oneof(
  fc.constantFrom('app', 'base', 'linux/amd64', 'linux/arm64/v8', 'localhost:5000/x', '.', 'app', '${TAG}', '${A:-b}'),
  fc.string({ maxLength: 12 }),
);
const specShaped = fc.record(
  {
    version: fc.oneof(fc.constant(1), fc.anything()),
    variables: fc.dictionary(fc.constantFrom('A', 'B', 'TAG', 'V0', 'V1'), word),
    platforms: fc.array(word, { maxLength: 3 }),
    strategy: fc.constantFrom('manifest-first', 'per-arch', 'nope'),
    registries: fc.dictionary(fc.constantFrom('r', 'hub'), fc.record({ url: word }, { requiredKeys: [] })),
    images: fc.dictionary(
      fc.constantFrom('app', 'base', 'x'),
      fc.record(
        {
          context: fc.constantFrom('app', '.', '${CTX}', 'missing'),
          tags: fc.array(word, { maxLength: 3 }),
          dependsOn: fc.array(fc.constantFrom('app', 'base', 'x'), { maxLength: 2 }),
          registry: fc.constantFrom('r', 'hub'),
          platforms: fc.array(word, { maxLength: 2 }),
          buildArgs: fc.dictionary(fc.constantFrom('BASE', 'X'), word),
        },
        { requiredKeys: ['context'] },
      ),
    ),
  },
  { requiredKeys: ['version', 'images'] },
);

// Each property runs its cases one after the other: its time is their sum, on a machine other tests load too.
describe(
  'fuzz: the CLI on hostile input exits 0 or 2, with a diagnostic, in bounded time',
  { timeout: 120_000 },
  () => {
    it.each(EXAMPLES.map((dir) => [path.basename(dir), dir]))('mutations of examples/%s', async (_name, example) => {
      const dir = workdir(example);
      const text = readFileSync(path.join(example, 'multiarch.yaml'), 'utf8');
      await fc.assert(
        fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), async (mutations) => {
          await check(dir, mutate(text, mutations), { TAG: 'v1' });
        }),
        { numRuns: Math.ceil(RUNS / 2) },
      );
    });

    it('mutations of the broken fixtures', async () => {
      const dir = workdir();
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...BROKEN), fc.array(mutation, { maxLength: 3 }), async (text, mutations) => {
          await check(dir, mutate(text, mutations));
        }),
        { numRuns: RUNS },
      );
    });

    it('random YAML documents', async () => {
      const dir = workdir();
      await fc.assert(
        fc.asyncProperty(fc.jsonValue({ maxDepth: 6 }), async (value) => {
          await check(dir, stringify(value));
        }),
        { numRuns: RUNS },
      );
    });

    it('random spec-shaped documents, some mutated', async () => {
      const dir = workdir();
      await fc.assert(
        fc.asyncProperty(specShaped, fc.array(mutation, { maxLength: 2 }), async (spec, mutations) => {
          await check(dir, mutate(stringify(spec), mutations));
        }),
        { numRuns: RUNS },
      );
    });
  },
);
