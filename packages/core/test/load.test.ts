import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSpec } from '../src/config/load.js';
import { readSpecFile } from '../src/config/read.js';
import { MAX_SPEC_BYTES, parseYamlSpec } from '../src/config/source.js';

const SPEC = 'version: 1\nimages:\n  app:\n    context: .\n';

const made: string[] = [];
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'orchestrate-load-'));
  made.push(dir);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

describe('loadSpec', () => {
  it.each([
    ['multiarch.yaml', SPEC],
    ['multiarch.yml', SPEC],
    ['.multiarch.yaml', SPEC],
    ['.multiarchrc', SPEC],
    ['multiarch.config.json', JSON.stringify({ version: 1, images: { app: { context: '.' } } })],
    ['multiarch.config.mjs', "export default { version: 1, images: { app: { context: '.' } } };\n"],
  ])('finds %s upward from a subdirectory', async (name, text) => {
    const dir = tree({ [name]: text, 'sub/deeper/.keep': '' });
    const result = await loadSpec({ cwd: path.join(dir, 'sub/deeper') });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.file).toBe(path.join(dir, name));
    expect(result.value.data).toEqual({ version: 1, images: { app: { context: '.' } } });
  });

  it('reads package.json#multiarch with ranges inside package.json', async () => {
    const pkg = JSON.stringify({ name: 'x', multiarch: { version: 1, images: { app: { context: '.' } } } }, null, 2);
    const dir = tree({ 'package.json': pkg });
    const result = await loadSpec({ cwd: dir });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.data).toEqual({ version: 1, images: { app: { context: '.' } } });
    // "version" sits on line 4 of package.json, under "multiarch".
    expect(result.value.locate(['version'], 'key')?.start.line).toBe(4);
  });

  it('skips a package.json without a multiarch key and goes on upward', async () => {
    const dir = tree({ 'multiarch.yaml': SPEC, 'pkg/package.json': '{"name":"pkg"}' });
    const result = await loadSpec({ cwd: path.join(dir, 'pkg') });
    expect(result.ok && result.value.file).toBe(path.join(dir, 'multiarch.yaml'));
  });

  it('prefers multiarch.yaml in the nearest directory', async () => {
    const dir = tree({ 'multiarch.yaml': SPEC, 'inner/multiarch.yaml': SPEC.replace('app', 'inner') });
    const result = await loadSpec({ cwd: path.join(dir, 'inner') });
    expect(result.ok && result.value.file).toBe('multiarch.yaml');
  });

  it('loads --config relative to the working directory, and says so when it is missing', async () => {
    const dir = tree({ 'specs/one.yaml': SPEC });
    const found = await loadSpec({ cwd: dir, configFile: 'specs/one.yaml' });
    expect(found.ok && found.value.file).toBe('specs/one.yaml');
    const missing = await loadSpec({ cwd: dir, configFile: 'specs/two.yaml' });
    expect(missing.ok).toBe(false);
    expect(missing.diagnostics[0]).toMatchObject({ code: 'config-not-found', file: 'specs/two.yaml' });
  });

  it('refuses a file over the size cap before reading it', async () => {
    const dir = tree({ 'multiarch.yaml': `# ${'x'.repeat(MAX_SPEC_BYTES)}\n${SPEC}` });
    const result = await loadSpec({ cwd: dir });
    expect(result.ok).toBe(false);
    expect(result.diagnostics[0]?.code).toBe('file-too-large');
  });
});

describe('loadSpec reads only regular files, and executes nothing it was not allowed to', () => {
  const SIDE_EFFECT = (marker: string) =>
    `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'ran');\nexport default { version: 1, images: { app: { context: '.' } } };\n`;

  it.each([
    ['/dev/zero', 'a character device'],
    ['/dev/urandom', 'a character device'],
  ])('refuses --config %s without reading it', async (device, what) => {
    const result = await loadSpec({ cwd: tmpdir(), configFile: device });
    expect(result.diagnostics).toMatchObject([{ code: 'not-a-regular-file', file: device }]);
    expect(result.diagnostics[0]?.message).toContain(what);
  });

  it('refuses a FIFO and a symlink to a device, named or found by the search, without waiting on them', async () => {
    const dir = tree({});
    execFileSync('mkfifo', [path.join(dir, 'multiarch.yaml')]);
    symlinkSync('/dev/zero', path.join(dir, 'zero.yaml'));
    for (const configFile of ['multiarch.yaml', 'zero.yaml', undefined]) {
      const result = await loadSpec({ cwd: dir, configFile });
      expect(result.diagnostics, String(configFile)).toMatchObject([{ code: 'not-a-regular-file' }]);
    }
  });

  it('applies the size cap to the bytes read, not to the size stat reports', async () => {
    // A /proc file is regular, and stat says 0 bytes whatever it holds.
    expect(statSync('/proc/self/status').size).toBe(0);
    expect(await readSpecFile('/proc/self/status', 100)).toEqual({ kind: 'too-large', limit: 100 });
    expect(await readSpecFile('/proc/self/status', MAX_SPEC_BYTES)).toMatchObject({ kind: 'text' });
  });

  it('never runs a cosmiconfig meta config (.config/config.mjs) while searching', async () => {
    const dir = tree({ 'multiarch.yaml': SPEC });
    const marker = path.join(dir, 'ran');
    mkdirSync(path.join(dir, '.config'));
    writeFileSync(path.join(dir, '.config/config.mjs'), SIDE_EFFECT(marker));
    const cwd = process.cwd();
    process.chdir(dir); // cosmiconfig looked for its meta config in the process's working directory
    try {
      expect((await loadSpec({ cwd: dir })).ok).toBe(true);
    } finally {
      process.chdir(cwd);
    }
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses a code config, found or named, before executing it, when js is not an allowed format', async () => {
    const dir = tree({});
    const marker = path.join(dir, 'ran');
    writeFileSync(path.join(dir, 'multiarch.config.mjs'), SIDE_EFFECT(marker));
    for (const configFile of [undefined, 'multiarch.config.mjs']) {
      const result = await loadSpec({ cwd: dir, configFile, formats: ['yaml', 'json'] });
      expect(result.diagnostics, String(configFile)).toMatchObject([
        { code: 'config-format-refused', file: 'multiarch.config.mjs' },
      ]);
    }
    expect(existsSync(marker)).toBe(false);
    // Allowed, the same file is executed: the marker shows the test above could have failed.
    expect((await loadSpec({ cwd: dir, configFile: 'multiarch.config.mjs' })).ok).toBe(true);
    expect(existsSync(marker)).toBe(true);
  });

  it('refuses a YAML spec when only json is allowed', async () => {
    const dir = tree({ 'multiarch.yaml': SPEC });
    const result = await loadSpec({ cwd: dir, formats: ['json'] });
    expect(result.diagnostics).toMatchObject([{ code: 'config-format-refused', file: 'multiarch.yaml' }]);
  });
});

describe('parseYamlSpec', () => {
  it('caps alias expansion (a "billion laughs" spec)', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 8; i++)
      lines.push(
        `${'abcdefgh'[i]}: &${'abcdefgh'[i]} [${Array(10)
          .fill(`*${'abcdefgh'[i - 1]}`)
          .join(', ')}]`,
      );
    const result = parseYamlSpec('multiarch.yaml', lines.join('\n'));
    expect(result.ok).toBe(false);
    expect(result.diagnostics[0]?.code).toBe('yaml-alias-limit');
  });

  it('reports every syntax error with its line and column', () => {
    const result = parseYamlSpec('multiarch.yaml', 'version: 1\nimages:\n  app:\n\tcontext: .\n');
    expect(result.ok).toBe(false);
    expect(result.diagnostics[0]).toMatchObject({ code: 'yaml-syntax', range: { start: { line: 4, col: 1 } } });
  });

  it('finds the range of keys and values, through aliases', () => {
    const result = parseYamlSpec('multiarch.yaml', 'shared: &p [linux/amd64]\nimages:\n  app:\n    platforms: *p\n');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.locate(['images', 'app', 'platforms'], 'key')?.start).toEqual({ line: 4, col: 5 });
    expect(result.value.locate(['images', 'app', 'platforms', 0])?.start).toEqual({ line: 1, col: 13 });
    expect(result.value.locate(['images', 'nope'])).toBeUndefined();
  });
});

describe('the fast YAML path', () => {
  it('reads every scalar as the ranged parser does (YAML 1.2 core schema)', async () => {
    const { parse } = await import('yaml');
    const text = [
      'a: on',
      'b: yes',
      'c: 0o17',
      'd: 010',
      'e: 1e3',
      'f: .inf',
      'g: ~',
      'h: null',
      'i: 2024-01-01',
      'j: "quoted # not a comment"',
      "k: 'it''s'",
      'l: 1.10',
      'm: 0x1F',
      'n: -.5',
      'o: True',
      'p: |',
      '  block',
      '  text',
      'q: >-',
      '  folded',
      '  text',
    ].join('\n');
    const result = parseYamlSpec('multiarch.yaml', text);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.value.data).toEqual(parse(text));
  });

  it('still gives ranges, built on demand', () => {
    const result = parseYamlSpec('multiarch.yaml', 'version: 1\nimages:\n  app: { context: . }\n');
    expect(result.ok && result.value.locate(['images', 'app', 'context'])).toEqual({
      start: { line: 3, col: 19 },
      end: { line: 3, col: 20 },
    });
  });
});

describe('values the two parsers read differently', () => {
  it('go the ranged way, so the data does not depend on which parser read it', async () => {
    const { parse } = await import('yaml');
    for (const text of [
      'a: 0b101',
      'a: -0x1F',
      'a: +0x1F',
      'null: x',
      '~: x',
      'a: {null: x}',
      '%YAML 1.2\n---\na: 1',
    ]) {
      const result = parseYamlSpec('multiarch.yaml', text);
      expect(result.ok, text).toBe(true);
      if (result.ok) expect(result.value.data, text).toEqual(parse(text));
    }
  });
});
