/**
 * No value reaches a podman/skopeo/tar command as an option. Each builder of plan/commands.ts
 * is given values that start with "-" (a directory a pull request can add is named
 * `--volume=/tmp/x:/host`), and its argv is read as cobra/pflag reads it: before `--`,
 * only the builder's own flags and subcommand words; the values are joined to their flag
 * (`--tag=-x`) or are operands after `--`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as commands from '../src/plan/commands.js';
import type { Arg } from '../src/plan/types.js';

/** Every flag the builders write: a value that lands before `--` shows up as a flag not in here, or as a bare word. */
const FLAGS = new Set([
  '--output',
  '--all',
  '--authfile',
  '--build-arg',
  '--build-context',
  '--dest-tls-verify',
  '--digestfile',
  '--file',
  '--force',
  '--format',
  '--ignore',
  '--jobs',
  '--manifest',
  '--name',
  '--no-prune',
  '--override-arch',
  '--override-os',
  '--override-variant',
  '--password-stdin',
  '--platform',
  '--preserve-digests',
  '--pull',
  '--quiet',
  '--raw',
  '--rm',
  '--src-tls-verify',
  '--tag',
  '--target',
  '--time',
  '--tls-verify',
  '--username',
]);
const SUBCOMMANDS = new Set([
  'exists',
  'save',
  'tag',
  'add',
  'build',
  'copy',
  'create',
  'image',
  'inspect',
  'login',
  'manifest',
  'push',
  'remove',
  'rm',
  'rmi',
  'run',
]);

interface Parsed {
  program: string;
  words: string[];
  flags: string[];
  operands: string[];
}

/** argv as pflag reads it: flags and subcommand words up to `--`, operands after it. */
function parse(argv: readonly Arg[]): Parsed {
  const words = argv.map((arg) => commands.formatArg(arg));
  const [program = '', ...rest] = words;
  const end = rest.indexOf('--');
  const before = end < 0 ? rest : rest.slice(0, end);
  for (const word of before) {
    if (word.startsWith('-')) expect(FLAGS, `option word ${JSON.stringify(word)}`).toContain(word.split('=')[0]);
    else expect(SUBCOMMANDS, `bare word ${JSON.stringify(word)} before --`).toContain(word);
  }
  return {
    program,
    words: before,
    flags: before.filter((w) => w.startsWith('-')),
    operands: end < 0 ? [] : rest.slice(end + 1),
  };
}

/** Values a hostile spec or checkout can hold: anything, starting with "-". */
const hostile = fc.oneof(
  fc.constantFrom('--volume=/tmp/x:/host', '-v', '--rm', '--', '-', '--privileged', '--all', '--file=/etc/passwd'),
  fc.tuple(fc.constantFrom('-', '--'), fc.string({ maxLength: 12 })).map(([dash, rest]) => dash + rest),
);
const REGISTRY_ACCESS = fc.record({ authfile: fc.boolean(), tlsVerify: fc.boolean() });

/**
 * The option words as the builder writes them whatever the values: flag names, and
 * whether a value is joined. Built once with plain stand-ins (`v0`, `v1`...) and once with
 * the hostile values, they must be the same: a value that became a word of its own before
 * `--` (even one spelled like a flag of ours, `--rm`) changes the shape.
 */
function shape(parsed: Parsed): string[] {
  return parsed.words.map((w) => (w.includes('=') ? `${w.split('=')[0]}=` : w));
}

/** os/arch/variant from three values: a "/" inside one would make other parts, not a hostile one. */
const platformOf = (...parts: string[]): string => parts.map((p) => p.replaceAll('/', '')).join('/');

/** Each builder, as a function of its string values, with the operands it must end with. */
interface Case {
  name: string;
  values: number;
  argv: (v: string[], access: commands.RegistryAccess) => Arg[];
  operands: (v: string[]) => string[];
}

const CASES: Case[] = [
  {
    name: 'login',
    values: 2,
    argv: (v, a) => commands.loginArgs('podman', v[0]!, v[1]!, a.tlsVerify),
    operands: (v) => [v[0]!],
  },
  { name: 'manifest rm', values: 1, argv: (v) => commands.removeListArgs('podman', v[0]!), operands: (v) => [v[0]!] },
  { name: 'rmi', values: 1, argv: (v) => commands.removeImageArgs('podman', v[0]!), operands: (v) => [v[0]!] },
  {
    name: 'build --manifest',
    values: 7,
    argv: (v, a) =>
      commands.buildListArgs(
        'podman',
        {
          containerfile: v[0]!,
          context: v[1]!,
          buildArgs: { A: v[2]! },
          target: v[3]!,
          authfile: a.authfile,
          contexts: commands.buildContextArgs(v[4]!, v[5]!),
        },
        [v[6]!, 'linux/amd64'],
        v[2]!,
        2,
      ),
    operands: (v) => [v[1]!],
  },
  {
    name: 'build --tag',
    values: 8,
    argv: (v, a) =>
      commands.buildImageArgs(
        'podman',
        {
          containerfile: v[0]!,
          context: v[1]!,
          buildArgs: { A: v[2]!, B: v[3]! },
          authfile: a.authfile,
          contexts: commands.buildContextArgs(v[4]!, { ref: 'digest', task: 't', prefix: v[5]! }),
        },
        v[6]!,
        v[7]!,
        v[3],
      ),
    operands: (v) => [v[1]!],
  },
  {
    name: 'skopeo copy to storage',
    values: 5,
    argv: (v, a) => commands.copyToStorageArgs(v[0]!, platformOf(v[1]!, v[2]!, v[3]!), v[4]!, a),
    operands: (v) => [`docker://${v[0]!}`, `containers-storage:${v[4]!}`],
  },
  {
    name: 'podman run',
    values: 5,
    argv: (v) => commands.smokeTestArgs('podman', v[0]!, v[1]!, [v[2]!, v[3]!], v[4]!),
    operands: (v) => [v[1]!, v[2]!, v[3]!],
  },
  {
    name: 'manifest inspect',
    values: 1,
    argv: (v) => commands.inspectListArgs('podman', v[0]!),
    operands: (v) => [v[0]!],
  },
  {
    name: 'image inspect',
    values: 2,
    argv: (v) => commands.instanceIdArgs('podman', v[0]!, v[1]!),
    operands: (v) => [`${v[0]!.replace(/:[^:/]+$/, '')}@${v[1]!}`],
  },
  {
    name: 'manifest remove',
    values: 2,
    argv: (v) => commands.removeFromListArgs('podman', v[0]!, v[1]!),
    operands: (v) => [v[0]!, v[1]!],
  },
  {
    name: 'manifest add (local)',
    values: 2,
    argv: (v) => commands.addLocalToListArgs('podman', v[0]!, v[1]!),
    operands: (v) => [v[0]!, `containers-storage:@${v[1]!}`],
  },
  { name: 'rm', values: 1, argv: (v) => commands.removeContainerArgs('podman', v[0]!), operands: (v) => [v[0]!] },
  {
    name: 'manifest exists',
    values: 1,
    argv: (v) => commands.listExistsArgs('podman', v[0]!),
    operands: (v) => [v[0]!],
  },
  { name: 'image exists', values: 1, argv: (v) => commands.imageExistsArgs('podman', v[0]!), operands: (v) => [v[0]!] },
  {
    name: 'image inspect (platform)',
    values: 1,
    argv: (v) => commands.imagePlatformArgs('podman', v[0]!),
    operands: (v) => [v[0]!],
  },
  {
    name: 'tag',
    values: 2,
    argv: (v) => commands.tagImageArgs('podman', v[0]!, v[1]!),
    operands: (v) => [v[0]!, v[1]!],
  },
  { name: 'save', values: 2, argv: (v) => commands.saveImageArgs('podman', v[0]!, v[1]!), operands: (v) => [v[0]!] },
  {
    name: 'push',
    values: 2,
    argv: (v, a) => commands.pushImageArgs('podman', v[0]!, v[1]!, a),
    operands: (v) => [v[0]!, v[1]!],
  },
  {
    name: 'manifest create',
    values: 1,
    argv: (v) => commands.createListArgs('podman', v[0]!),
    operands: (v) => [v[0]!],
  },
  {
    name: 'manifest add',
    values: 2,
    argv: (v, a) => commands.addToListArgs('podman', v[0]!, v[1]!, a),
    operands: (v) => [v[0]!, v[1]!],
  },
  {
    name: 'manifest push',
    values: 2,
    argv: (v, a) => commands.pushListArgs('podman', v[0]!, v[1]!, a),
    operands: (v) => [v[0]!, v[1]!],
  },
  { name: 'skopeo inspect', values: 1, argv: (v, a) => commands.inspectRawArgs(v[0]!, a), operands: (v) => [v[0]!] },
  {
    name: 'skopeo copy',
    values: 2,
    argv: (v, a) => commands.copyListArgs(v[0]!, v[1]!, a),
    operands: (v) => [v[0]!, v[1]!],
  },
  { name: 'rmi (cleanup)', values: 3, argv: (v) => commands.removeImagesArgs('podman', v), operands: (v) => v },
];

describe('argv builders: no value is read as an option', () => {
  it.each(CASES)('$name: values are operands after `--`, or joined to their flag', (c) => {
    const plain = Array.from({ length: c.values }, (_, i) => `v${i}`);
    fc.assert(
      fc.property(
        fc.array(hostile, { minLength: c.values, maxLength: c.values }),
        REGISTRY_ACCESS,
        (values, access) => {
          const parsed = parse(c.argv(values, access));
          const expected = parse(c.argv(plain, access));
          expect(parsed.program).toBe(expected.program);
          expect(shape(parsed)).toEqual(shape(expected));
          expect(parsed.operands).toEqual(c.operands(values));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('podman run: the test command follows the image exactly as written, options and `--` included', () => {
    const argv = commands.smokeTestArgs('podman', 'linux/amd64', '--privileged', ['--', '-v', '/:/host'], 'c');
    expect(parse(argv).operands).toEqual(['--privileged', '--', '-v', '/:/host']);
    expect(argv.slice(-5)).toEqual(['--', '--privileged', '--', '-v', '/:/host']);
  });

  it('build pins: a run-time value keeps its place inside the --build-context word', () => {
    const pin = commands.buildContextArgs('-x', { ref: 'digest', task: 't', prefix: 'r@' });
    expect(pin.map(commands.formatArg)).toEqual(['--build-context=-x=docker-image://r@<digest of t>']);
  });

  it('tar takes no value at all', () => {
    expect(commands.unpackContextArgs()).toEqual(['tar', '-x', '-f', '-']);
  });

  it('the check itself catches a value before `--`', () => {
    // The argv of old: the context last, with no `--` before it.
    const old = ['podman', 'build', '--file=x', '--volume=/tmp/x:/host'];
    expect(() => parse(old)).toThrow(/--volume/);
    // A value spelled like a flag of ours is still a word too many.
    const spelledLikeOurs = parse(['podman', 'rmi', '--ignore', '--rm', '--', 'x']);
    expect(shape(spelledLikeOurs)).not.toEqual(shape(parse(['podman', 'rmi', '--ignore', '--', 'v0'])));
  });
});
