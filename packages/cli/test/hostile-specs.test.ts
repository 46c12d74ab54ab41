/**
 * Specs that crashed or hung the CLI (issue 12, hardening), run as a user would, in a child
 * process with a time and a memory bound: each is a diagnostic with its place, exit 2.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, project, type Run } from './helpers.js';

const CONTAINERFILE = 'FROM docker.io/library/busybox\n';
const HEAD = 'version: 1\nplatforms: [linux/amd64]\nimages:\n  app:\n    context: app\n';

/** The CLI with 256 MiB of heap and 20 s: a spec must not need more. */
function bounded(args: readonly string[], cwd: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--max-old-space-size=256', BIN, ...args],
      { cwd, env: { PATH: process.env['PATH'] ?? '', NO_COLOR: '1', ...env }, timeout: 20_000, killSignal: 'SIGKILL' },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

function expectDiagnostic(run: Run, place: RegExp, code: string): void {
  expect(run.code, run.stderr.slice(0, 2000)).toBe(2);
  expect(run.stderr).not.toMatch(/internal error|^\s+at /m);
  expect(run.stderr).toMatch(new RegExp(`^${place.source}  error  ${code}  `, 'm'));
}

const spec = (text: string) => project({ 'multiarch.yaml': text, 'app/Containerfile': CONTAINERFILE });

describe('hostile specs: a diagnostic with its place, exit 2, bounded time and memory', () => {
  it('a chain of 2000 variables each reading the next', async () => {
    const lines = Array.from({ length: 2000 }, (_, i) => `  V${i}: "\${V${i + 1}}"`);
    const dir = spec(`${HEAD}    tags: ["\${V0}"]\nvariables:\n${lines.join('\n')}\n  V2000: end\n`);
    expectDiagnostic(await bounded(['validate'], dir), /multiarch\.yaml:\d+:\d+/, 'expansion-too-deep');
  });

  it('variables that double at each step', async () => {
    const lines = Array.from({ length: 59 }, (_, i) => `  V${i + 1}: "\${V${i}}\${V${i}}"`);
    const dir = spec(`${HEAD}    tags: ["\${V59}"]\nvariables:\n  V0: abcdefgh\n${lines.join('\n')}\n`);
    expectDiagnostic(await bounded(['plan'], dir), /multiarch\.yaml:\d+:\d+/, 'expansion-too-long');
  });

  it('${A:-${A:-...}} nested 15000 deep in a tag', async () => {
    let tag = 'x';
    for (let i = 0; i < 15_000; i++) tag = `\${A:-${tag}}`;
    const dir = spec(`${HEAD}    tags: ["${tag}"]\n`);
    expectDiagnostic(await bounded(['validate'], dir), /multiarch\.yaml:6:\d+/, 'expansion-too-deep');
  });

  it.each([
    ['[[[[...', `version: 1\nimages: ${'['.repeat(5000)}\n`],
    ['{a: {a: ...', `version: 1\nimages: ${'{a: '.repeat(5000)}\n`],
  ])('%s nested 5000 deep', async (_name, text) => {
    expectDiagnostic(await bounded(['validate'], spec(text)), /multiarch\.yaml:2:\d+/, 'yaml-depth-limit');
  });

  // Found by the fuzz test: block sequences this deep overflow yaml's parser itself, not only its composer.
  it('- - - ... nested 5000 deep', async () => {
    const text = `version: 1\nimages:\n${'- '.repeat(5000)}x\n`;
    expectDiagnostic(await bounded(['validate'], spec(text)), /multiarch\.yaml:3:\d+/, 'yaml-depth-limit');
  });

  it('an alias bomb, at the alias that crosses the limit', async () => {
    const lines = ['version: 1', 'a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 8; i++) {
      const [name, previous] = ['abcdefgh'.charAt(i), 'abcdefgh'.charAt(i - 1)];
      lines.push(`${name}: &${name} [${Array(10).fill(`*${previous}`).join(', ')}]`);
    }
    expectDiagnostic(
      await bounded(['validate'], spec(lines.join('\n'))),
      /multiarch\.yaml:\d+:\d+/,
      'yaml-alias-limit',
    );
  });

  it('--config /dev/zero, /dev/urandom, a FIFO, a symlink to a device; and a FIFO found by the search', async () => {
    const dir = project({ 'app/Containerfile': CONTAINERFILE });
    execFileSync('mkfifo', [path.join(dir, 'fifo.yaml')]);
    symlinkSync('/dev/zero', path.join(dir, 'zero.yaml'));
    for (const file of ['/dev/zero', '/dev/urandom', 'fifo.yaml', 'zero.yaml'])
      expectDiagnostic(
        await bounded(['plan', '--config', file], dir),
        new RegExp(file.replace(/\./g, '\\.')),
        'not-a-regular-file',
      );
    symlinkSync('fifo.yaml', path.join(dir, 'multiarch.yaml'));
    expectDiagnostic(await bounded(['validate'], dir), /multiarch\.yaml/, 'not-a-regular-file');
  });

  it('refuses a code config with --config-format or ORCHESTRATE_CONFIG_FORMAT, and runs nothing of it', async () => {
    const dir = project({
      'multiarch.config.mjs': `import { writeFileSync } from 'node:fs';\nwriteFileSync('ran', '');\nexport default ${JSON.stringify({ version: 1, images: { app: { context: 'app' } } })};\n`,
      'app/Containerfile': CONTAINERFILE,
    });
    const place = /multiarch\.config\.mjs/;
    for (const command of ['plan', 'validate', 'build'])
      expectDiagnostic(await bounded([command, '--config-format', 'yaml,json'], dir), place, 'config-format-refused');
    expectDiagnostic(
      await bounded(['plan'], dir, { ORCHESTRATE_CONFIG_FORMAT: 'yaml,json' }),
      place,
      'config-format-refused',
    );
    expect(existsSync(path.join(dir, 'ran'))).toBe(false);
    // The option wins over the environment; allowed, the config runs (so the check above could fail).
    const allowed = await bounded(['validate', '--config-format', 'js'], dir, { ORCHESTRATE_CONFIG_FORMAT: 'yaml' });
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(existsSync(path.join(dir, 'ran'))).toBe(true);
    const bad = await bounded(['validate'], dir, { ORCHESTRATE_CONFIG_FORMAT: 'yaml,toml' });
    expectDiagnostic(bad, /orchestrate/, 'invalid-value');
  });
});
