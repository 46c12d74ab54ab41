/**
 * Input hashes on real trees: what changes an image's hash (and its dependents'), what must
 * not (ignored files, other images), and the stat cache (hits, misses, racy files, a corrupt file).
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyze } from '../src/analyze.js';
import { computeInputHashes, type InputFilesOptions } from '../src/exec/input-files.js';
import { STAT_CACHE_FORMAT } from '../src/exec/stat-cache.js';
import { INPUT_HASH_VERSION } from '../src/model/inputs.js';

const made: string[] = [];
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const BUSYBOX = 'docker.io/library/busybox:1.36';
const spec = (baseArgs = 'FLAVOUR: plain', appTarget = ''): string => `version: 1
platforms: [linux/amd64, linux/arm64]
images:
  base:
    context: base
    buildArgs: { ${baseArgs} }
  app:
    context: app
    dependsOn: [base]
${appTarget === '' ? '' : `    target: ${appTarget}\n`}  other:
    context: other
`;

function tree(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'orchestrate-inputs-'));
  made.push(dir);
  const files: Record<string, string> = {
    'multiarch.yaml': spec(),
    'base/Containerfile': `FROM ${BUSYBOX}\nCOPY . /base\n`,
    'base/etc/base.conf': 'base = 1\n',
    'app/Containerfile': `FROM ${BUSYBOX} AS build\nCOPY . /app\nFROM build AS final\n`,
    'app/.dockerignore': '*.log\ncache/\n',
    'app/src/main.sh': 'echo hello\n',
    'app/debug.log': 'noise\n',
    'other/Containerfile': `FROM ${BUSYBOX}\n`,
    'other/readme': 'other\n',
  };
  for (const [name, text] of Object.entries(files)) write(dir, name, text);
  return dir;
}

function write(dir: string, name: string, text: string): void {
  mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
  writeFileSync(path.join(dir, name), text);
}

async function hashes(dir: string, options: InputFilesOptions = {}, bases: Record<string, string> = {}) {
  const analysis = await analyze({ cwd: dir, env: {}, localPlatform: 'linux/amd64', localJobs: 2 });
  if (!analysis.ok) throw new Error(analysis.diagnostics.map((d) => d.message).join('\n'));
  const result = computeInputHashes(analysis.value.specDir, analysis.value.model, [], bases, options);
  if (!result.ok) throw new Error(`${result.image}: ${result.reason}`);
  return result;
}

/** Which images' hashes (any platform) differ between two runs. */
function changed(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  return Object.keys(before).filter((name) => JSON.stringify(before[name]) !== JSON.stringify(after[name]));
}

describe('input hashes', () => {
  it('are sha256 hex per image and platform, the same for the same tree, and differ by platform', async () => {
    const dir = tree();
    const first = (await hashes(dir)).hashes;
    expect(Object.keys(first)).toEqual(['base', 'app', 'other']);
    expect(first['app']?.['linux/amd64']).toMatch(/^[0-9a-f]{64}$/);
    expect(first['app']?.['linux/amd64']).not.toBe(first['app']?.['linux/arm64']);
    expect((await hashes(dir)).hashes).toEqual(first);
    expect(INPUT_HASH_VERSION).toBe('orchestrate-inputs/1');
  });

  it('are pinned: the same encoding gives the same hash on every machine (change INPUT_HASH_VERSION with it)', async () => {
    const dir = tree();
    // Modes fixed, whatever the umask: they are hashed.
    for (const dir_ of ['base/etc', 'app/src']) chmodSync(path.join(dir, dir_), 0o755);
    for (const file of ['base/etc/base.conf', 'app/src/main.sh', 'other/readme'])
      chmodSync(path.join(dir, file), 0o644);
    const pinned = (await hashes(dir)).hashes;
    // base for linux/amd64, by hand, as model/inputs.ts documents the encoding.
    const hex = (text: string) => createHash('sha256').update(text).digest('hex');
    const context = hex(
      JSON.stringify(['etc', 'dir', 0o755, '']) +
        '\n' +
        JSON.stringify(['etc/base.conf', 'file', 0o644, hex('base = 1\n')]) +
        '\n',
    );
    const containerfile = hex(`FROM ${BUSYBOX}\nCOPY . /base\n`);
    const fields = [[], null, [['FLAVOUR', 'plain']], [], [[BUSYBOX, null]]];
    expect(pinned['base']?.['linux/amd64']).toBe(
      hex(JSON.stringify([INPUT_HASH_VERSION, 'linux/amd64', context, containerfile, ...fields])),
    );
    expect(pinned['app']?.['linux/arm64']).toBe('f7a613559779138236a9d6e8f971c3d17576c1fe6bbf5f8aba8bfdfcdfef471a');
  });

  it.each([
    ['a file of the context changes', (dir: string) => write(dir, 'app/src/main.sh', 'echo bye\n'), ['app']],
    ['a file is added', (dir: string) => write(dir, 'app/src/extra.sh', ''), ['app']],
    ['an empty directory is added', (dir: string) => mkdirSync(path.join(dir, 'other/empty')), ['other']],
    ['a file turns executable', (dir: string) => chmodSync(path.join(dir, 'app/src/main.sh'), 0o755), ['app']],
    ['a symlink is added', (dir: string) => symlinkSync('readme', path.join(dir, 'other/link')), ['other']],
    ['the ignore file changes', (dir: string) => write(dir, 'app/.dockerignore', '*.log\n'), ['app']],
    [
      'a build arg changes: the image and its dependent',
      (dir: string) => write(dir, 'multiarch.yaml', spec('FLAVOUR: fancy')),
      ['base', 'app'],
    ],
    [
      'a build arg is added',
      (dir: string) => write(dir, 'multiarch.yaml', spec('FLAVOUR: plain, EXTRA: "1"')),
      ['base', 'app'],
    ],
    ['the target changes', (dir: string) => write(dir, 'multiarch.yaml', spec(undefined, 'build')), ['app']],
    [
      "a dependency's Containerfile changes: it and its dependent",
      (dir: string) => write(dir, 'base/Containerfile', `FROM ${BUSYBOX}\nCOPY . /srv\n`),
      ['base', 'app'],
    ],
    ['an ignored file changes: nothing', (dir: string) => write(dir, 'app/debug.log', 'other noise\n'), []],
    ['a file in an ignored directory appears: nothing', (dir: string) => write(dir, 'app/cache/blob', 'x'), []],
  ])('when %s, exactly those hashes change', async (_what, change, expected) => {
    const dir = tree();
    const before = (await hashes(dir)).hashes;
    change(dir);
    expect(changed(before, (await hashes(dir)).hashes)).toEqual(expected);
  });

  it("an outside base's digest, given by the caller, changes every image that pulls it", async () => {
    const dir = tree();
    const unresolved = (await hashes(dir)).hashes;
    const resolved = (await hashes(dir, {}, { [BUSYBOX]: 'sha256:' + '1'.repeat(64) })).hashes;
    const moved = (await hashes(dir, {}, { [BUSYBOX]: 'sha256:' + '2'.repeat(64) })).hashes;
    expect(changed(unresolved, resolved)).toEqual(['base', 'app', 'other']);
    expect(changed(resolved, moved)).toEqual(['base', 'app', 'other']);
  });

  it('a context that vanished after analysis is reported with its image, not thrown', async () => {
    const dir = tree();
    const analysis = await analyze({ cwd: dir, env: {}, localPlatform: 'linux/amd64', localJobs: 2 });
    if (!analysis.ok) throw new Error('spec');
    rmSync(path.join(dir, 'other'), { recursive: true });
    const result = computeInputHashes(analysis.value.specDir, analysis.value.model, ['other']);
    expect(result).toMatchObject({ ok: false, image: 'other', reason: expect.stringContaining('Containerfile') });
  });

  it('only the named images and what they depend on are read', async () => {
    const dir = tree();
    const analysis = await analyze({ cwd: dir, env: {}, localPlatform: 'linux/amd64', localJobs: 2 });
    if (!analysis.ok) throw new Error('spec');
    const result = computeInputHashes(analysis.value.specDir, analysis.value.model, ['app']);
    expect(result.ok && Object.keys(result.hashes)).toEqual(['base', 'app']);
  });
});

describe('the stat cache', () => {
  // Files made by the test are seconds old at most: a clock a minute ahead makes them old enough to trust.
  const later = () => Date.now() + 60_000;
  const cacheIn = (dir: string) => path.join(dir, '.cache', 'stat.json');

  it('a run of some images (--image) keeps the entries of the others', async () => {
    const dir = tree();
    const cacheFile = cacheIn(dir);
    expect((await hashes(dir, { cacheFile, nowMs: later() })).stats).toMatchObject({ hits: 0, misses: 3 });
    const analysis = await analyze({ cwd: dir, env: {}, localPlatform: 'linux/amd64', localJobs: 2 });
    if (!analysis.ok) throw new Error('spec');
    const some = computeInputHashes(
      analysis.value.specDir,
      analysis.value.model,
      ['other'],
      {},
      { cacheFile, nowMs: later() },
    );
    expect(some.ok && some.stats).toMatchObject({ hits: 1, misses: 0 });
    expect((await hashes(dir, { cacheFile, nowMs: later() })).stats).toMatchObject({ hits: 3, misses: 0 });
  });

  it('a second run reads no file and gives the same hashes; a changed file is read again', async () => {
    const dir = tree();
    const cacheFile = cacheIn(dir);
    const cold = await hashes(dir, { cacheFile, nowMs: later() });
    expect(cold.stats).toMatchObject({ files: 3, hits: 0, misses: 3 });
    expect(cold.stats.bytesRead).toBeGreaterThan(0);
    const warm = await hashes(dir, { cacheFile, nowMs: later() });
    expect(warm.stats).toEqual({ files: 3, hits: 3, misses: 0, bytesRead: 0 });
    expect(warm.hashes).toEqual(cold.hashes);

    write(dir, 'app/src/main.sh', 'echo bye\n');
    const after = await hashes(dir, { cacheFile, nowMs: later() });
    expect(after.stats).toMatchObject({ hits: 2, misses: 1 });
    expect(after.hashes).toEqual((await hashes(dir)).hashes);
  });

  it('files changed just before the run are not trusted next time (racy git)', async () => {
    const dir = tree();
    const cacheFile = cacheIn(dir);
    await hashes(dir, { cacheFile, nowMs: Date.now() });
    expect((await hashes(dir, { cacheFile, nowMs: later() })).stats).toMatchObject({ hits: 0, misses: 3 });
  });

  it.each([
    ['not JSON', '{"format": "orchestrate-stat-cache/1", "fil'],
    ['of another format', JSON.stringify({ format: 'git-index/2', files: {} })],
    ['of the right format, with odd entries', JSON.stringify({ format: STAT_CACHE_FORMAT, files: { a: [1], b: 'x' } })],
    ['empty', ''],
  ])('a cache file that is %s is ignored and replaced', async (_what, content) => {
    const dir = tree();
    const cacheFile = cacheIn(dir);
    mkdirSync(path.dirname(cacheFile), { recursive: true });
    writeFileSync(cacheFile, content);
    const run = await hashes(dir, { cacheFile, nowMs: later() });
    expect(run.stats).toMatchObject({ hits: 0, misses: 3 });
    expect(run.hashes).toEqual((await hashes(dir)).hashes);
    expect(JSON.parse(readFileSync(cacheFile, 'utf8'))).toMatchObject({ format: STAT_CACHE_FORMAT });
    expect((await hashes(dir, { cacheFile, nowMs: later() })).stats).toMatchObject({ hits: 3, misses: 0 });
  });

  it('an unwritable cache costs speed, not the hashes', async () => {
    const dir = tree();
    write(dir, 'blocker', 'a file where the cache directory would go');
    const run = await hashes(dir, { cacheFile: path.join(dir, 'blocker', 'stat.json'), nowMs: later() });
    expect(run.hashes).toEqual((await hashes(dir)).hashes);
  });
});
