import { describe, expect, it } from 'vitest';
import { orchestrate, project } from './helpers.js';

const BUSYBOX = 'FROM docker.io/library/busybox\n';

describe('diagnostics, end to end', () => {
  it('prints a typo with its place, the line, carets under the key and a hint; exit 2', async () => {
    const dir = project({
      'multiarch.yaml': 'version: 1\nplatfroms: [linux/amd64]\nimages:\n  app:\n    context: app\n',
      'app/Containerfile': BUSYBOX,
    });
    const expected = [
      'multiarch.yaml:2:1  error  unknown-key  unknown key "platfroms"',
      '  2 | platfroms: [linux/amd64]',
      '    | ^^^^^^^^^',
      '  hint: did you mean "platforms"?',
    ].join('\n');
    for (const command of [['validate'], ['plan', '--local-platform', 'linux/amd64']]) {
      const run = await orchestrate(command, { cwd: dir });
      expect(run.code, `${command.join(' ')}\n${run.stderr}`).toBe(2);
      expect(run.stderr, command.join(' ')).toContain(expected);
      expect(run.stdout, command.join(' ')).toBe('');
    }
  });

  it('validate --format json: valid false, every diagnostic with its range and hint; exit 2', async () => {
    const dir = project({
      'multiarch.yaml': [
        'version: 1',
        'registries:',
        '  hub:',
        '    url: acme',
        'images:',
        '  base:',
        '    context: base',
        '  app:',
        '    context: app',
        '    dependsOn: [bsae]',
        '',
      ].join('\n'),
      'base/Containerfile': BUSYBOX,
      'app/Containerfile': BUSYBOX,
    });
    const run = await orchestrate(['validate', '--format', 'json', '--local-platform', 'linux/amd64'], { cwd: dir });
    expect(run.code, run.stderr).toBe(2);
    const report = JSON.parse(run.stdout) as {
      valid: boolean;
      file?: string;
      diagnostics: {
        severity: string;
        code: string;
        message: string;
        file?: string;
        range?: { start: { line: number; col: number } };
        hint?: string;
      }[];
    };
    expect(report.valid).toBe(false);
    expect(report.file).toBe('multiarch.yaml');
    expect(report.diagnostics).toEqual([
      expect.objectContaining({
        severity: 'error',
        code: 'short-registry-name',
        file: 'multiarch.yaml',
        range: expect.objectContaining({ start: { line: 4, col: 10 } }),
        hint: expect.stringContaining('docker.io/acme'),
      }),
      expect.objectContaining({
        severity: 'error',
        code: 'unknown-image',
        file: 'multiarch.yaml',
        range: expect.objectContaining({ start: { line: 10, col: 17 } }),
        hint: 'did you mean "base"?',
      }),
    ]);
    for (const diagnostic of report.diagnostics) expect(diagnostic.message).not.toBe('');
  });

  it('a value with a newline cannot start a line of its own (a CI annotation): validate and plan', async () => {
    const dir = project({
      'multiarch.yaml': 'version: 1\nimages:\n  app:\n    context: app\n    tags: ["ok\\n::error::forged"]\n',
      'app/Containerfile': BUSYBOX,
    });
    const validate = await orchestrate(['validate', '--local-platform', 'linux/amd64'], { cwd: dir });
    expect(validate.code, validate.stderr).toBe(2);
    expect(validate.stderr).toContain('"ok\\n::error::forged" is not a valid tag');
    expect(`${validate.stdout}${validate.stderr}`.split('\n').filter((line) => line.startsWith('::'))).toEqual([]);

    const test = project({
      'multiarch.yaml':
        'version: 1\nimages:\n  app:\n    context: app\n    test: { command: [sh, -c, "echo ok\\n::error::forged"] }\n',
      'app/Containerfile': BUSYBOX,
    });
    const plan = await orchestrate(['plan', '--local-platform', 'linux/amd64'], { cwd: test });
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain("$'echo ok\\n::error::forged'");
    expect(`${plan.stdout}${plan.stderr}`.split('\n').filter((line) => line.startsWith('::'))).toEqual([]);
  });

  it('prints the first 100 diagnostics, counts the rest, and --format json lists them all; exit 2', async () => {
    const images = Array.from({ length: 150 }, (_, i) => `  i${i}:\n    context: .\n    tgas: [x]\n`).join('');
    const dir = project({ 'multiarch.yaml': `version: 1\nimages:\n${images}`, Containerfile: BUSYBOX });
    const run = await orchestrate(['validate', '--local-platform', 'linux/amd64'], { cwd: dir });
    expect(run.code, run.stderr).toBe(2);
    const lines = run.stderr.split('\n');
    expect(lines.filter((line) => /^multiarch\.yaml:\d+:\d+  error  unknown-key/.test(line))).toHaveLength(100);
    expect(lines.filter((line) => /^  \d+ \| /.test(line))).toHaveLength(100);
    expect(lines).toContain('... and 50 more errors (orchestrate validate --format json lists them all)');
    expect(lines.at(-2)).toBe('150 errors');
    const json = await orchestrate(['validate', '--format', 'json', '--local-platform', 'linux/amd64'], { cwd: dir });
    expect(json.code).toBe(2);
    expect((JSON.parse(json.stdout) as { diagnostics: unknown[] }).diagnostics).toHaveLength(150);
  });
});
