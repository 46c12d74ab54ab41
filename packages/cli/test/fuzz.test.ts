/**
 * The whole CLI against mutated and random specs, in-process (main() with a captured Io):
 * every run ends, within a time bound, with exit 0, or exit 2 and a diagnostic; never an
 * exception out of main(), an "internal error" or a stack trace. Seeds: the examples, the
 * broken fixtures of core, random YAML, random spec-shaped documents.
 * Child processes with a memory bound run the hostile specs (hostile-specs.test.ts).
 *
 * FUZZ_RUNS=N scales every property (default: a few hundred runs in all, for CI).
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
 * (`init` writes multiarch.yaml: it has a property of its own, on Containerfile trees.)
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

    it('init on random Containerfile trees: exit 0 or 2, and what it writes validates and plans as written', async () => {
      const folder = fc.constantFrom(
        'base',
        'app',
        'App_Two',
        'nested/deep',
        '-x',
        '.hidden',
        'node_modules',
        'a b',
        '::error::',
      );
      const fileName = fc.constantFrom('Containerfile', 'Dockerfile', 'Dockerfile.dev', 'api.Dockerfile', 'README');
      const from = fc.oneof(
        fc.constantFrom(
          'FROM docker.io/library/busybox:1.36',
          'FROM quay.io/acme/base',
          'FROM quay.io/acme/base:2.0',
          'ARG OWNER=acme\nFROM quay.io/$OWNER/app',
          'FROM acme/base',
          'FROM localhost/base',
          'FROM quay.io/acme/base@sha256:' + 'a'.repeat(64),
          'FROM scratch',
          'FROM ${UNSET}',
        ),
        fc.string({ maxLength: 40 }).map((t) => `FROM ${t}`),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(folder, fileName, fc.array(from, { minLength: 1, maxLength: 2 })), { maxLength: 5 }),
          async (files) => {
            const dir = mkdtempSync(path.join(tmpdir(), 'orchestrate-fuzz-init-'));
            made.push(dir);
            for (const [folderName, name, lines] of files) {
              mkdirSync(path.join(dir, folderName), { recursive: true });
              writeFileSync(path.join(dir, folderName, name), `${lines.join('\n')}\nRUN true\n`);
            }
            const started = performance.now();
            const init = await run(['init'], dir, {});
            expectClean(init, `orchestrate init on ${JSON.stringify(files)}`, performance.now() - started);
            // Written but refused: only a cycle the Containerfiles themselves make may stop it.
            if (init.code === 2 && existsSync(path.join(dir, 'multiarch.yaml'))) {
              const codes = [...init.stderr.matchAll(/  error  ([a-z-]+)  /g)].map((m) => m[1]);
              expect(new Set(codes), init.stderr).toEqual(new Set(['dependency-cycle']));
            }
            if (init.code !== 0) return;
            for (const args of [['validate'], ['plan', '--local-platform', 'linux/amd64']]) {
              const outcome = await run(args, dir, {});
              expect(
                outcome.code,
                `${args.join(' ')} of what init wrote for ${JSON.stringify(files)}:\n${outcome.stderr}`,
              ).toBe(0);
            }
          },
        ),
        { numRuns: RUNS },
      );
    });
  },
);
