import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { checkTestOutput } from '../../src/exec/checks.js';
import { expectProblem } from '../../src/util/expect.js';
import { analyzeText } from '../helpers.js';

const CHECKS = fileURLToPath(new URL('../../src/exec/checks.ts', import.meta.url));

describe('checkTestOutput', () => {
  it('matches ^(a+)+$ against 40 a and a ! in linear time', async () => {
    // In a child, so that a backtracking engine fails the test by its timeout instead of hanging vitest.
    const script = [
      `import { checkTestOutput } from ${JSON.stringify(CHECKS)};`,
      'const start = performance.now();',
      "const failure = checkTestOutput('a'.repeat(40) + '!\\n', '^(a+)+$');",
      'console.log(JSON.stringify({ ms: performance.now() - start, reason: failure?.reason }));',
    ].join('\n');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { timeout: 20_000, killSignal: 'SIGKILL' },
    );
    const { ms, reason } = JSON.parse(stdout) as { ms: number; reason?: string };
    console.log(`^(a+)+$ against 40 a and !: ${ms.toFixed(1)} ms`);
    expect(reason).toBe('expectation-failed');
    expect(ms).toBeLessThan(1000);
  }, 30_000);

  it('matches and mismatches as JavaScript with the m flag did', () => {
    expect(checkTestOutput('aarch64\n', 'aarch64')).toBeUndefined();
    expect(checkTestOutput('hello\nversion 1.2\n', '^version \\d')).toBeUndefined();
    expect(checkTestOutput('one\nx86_64\ntwo\n', '^x86_64$')).toBeUndefined();
    expect(checkTestOutput('x86_64\r\n', '^x86_64$')).toBeUndefined();
    expect(checkTestOutput('Linux 6.1 (?<arch>aarch64)', '(?<arch>aarch64|arm64)')).toBeUndefined();
    expect(checkTestOutput('aaaa\n', '^(a+)+$')).toBeUndefined();
    expect(checkTestOutput('x86_64\n', 'aarch64')?.reason).toBe('expectation-failed');
    expect(checkTestOutput('version 1.2\n', '^1\\.2')?.message).toBe('output "version 1.2" does not match /^1\\.2/');
    expect(checkTestOutput('anything', undefined)).toBeUndefined();
  });

  it('fails a pattern the linear engine cannot take rather than running it', () => {
    const failure = checkTestOutput('version 1.2\n', '^(?=version)');
    expect(failure?.reason).toBe('expectation-failed');
    expect(failure?.message).toContain('lookaround');
  });
});

describe('expectProblem', () => {
  it('refuses lookaround and backreferences with a hint, and accepts RE2 syntax', () => {
    for (const pattern of ['(?=x)', '(?!x)', '(?<=x)y', '(?<!x)y', '(a)\\1', '(?<n>a)\\k<n>']) {
      expect(expectProblem(pattern)?.hint, pattern).toContain('without lookahead, lookbehind or backreferences');
    }
    expect(expectProblem('x86_64(')?.message).toBe(
      'expect is not a valid regular expression: missing closing ): `x86_64(`',
    );
    expect(expectProblem('\\u00e9')?.hint).toContain('\\x{e9}');
    for (const pattern of ['^x86_64$', '\\d+\\.\\d+', '[[:alpha:]]+', '\\x{e9}', 'a{2,5}'])
      expect(expectProblem(pattern), pattern).toBeUndefined();
  });
});

describe('test.expect in the spec', () => {
  const spec = (expect: string) =>
    [
      'version: 1',
      'images:',
      '  app:',
      '    context: app',
      '    test:',
      '      command: [uname, -m]',
      `      expect: ${expect}`,
      '',
    ].join('\n');
  const problems = (text: string) =>
    analyzeText(text).diagnostics.map((d) => ({
      code: d.code,
      at: `${d.range?.start.line}:${d.range?.start.col}`,
      message: d.message,
      hint: d.hint,
    }));

  it('refuses a lookahead where it is written', () => {
    expect(problems(spec('"^(?=x86)x86_64"'))).toEqual([
      expect.objectContaining({
        code: 'invalid-value',
        at: '7:15',
        message: expect.stringContaining('(?='),
        hint: expect.stringContaining('without lookahead'),
      }),
    ]);
  });

  it('refuses every bad pattern of a per-platform expect, each at its own entry', () => {
    const text = spec('{ linux/amd64: "(x)\\\\1", linux/arm64: "aarch64(" }');
    expect(problems(text)).toEqual([
      expect.objectContaining({ code: 'invalid-value', at: '7:30', message: expect.stringContaining('backreference') }),
      expect.objectContaining({
        code: 'invalid-value',
        at: '7:53',
        message: expect.stringContaining('missing closing )'),
      }),
    ]);
  });

  it('accepts patterns RE2 takes', () => {
    expect(problems(spec('{ linux/amd64: "^x86_64$", linux/arm64: "^(aarch64|arm64)\\\\s*$" }'))).toEqual([]);
  });
});
