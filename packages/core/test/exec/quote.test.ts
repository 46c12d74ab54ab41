import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { shellCommand, shellWord } from '../../src/exec/quote.js';

/** What a real POSIX sh makes of the quoted words: each argument NUL-terminated, so any byte shows. */
function throughSh(words: readonly string[]): string[] {
  const out = execFileSync('sh', ['-c', `printf '%s\\0' ${shellCommand(words)}`], { encoding: 'utf8' });
  return out.split('\0').slice(0, -1);
}

describe('shellWord', () => {
  it('leaves plain words alone and single-quotes the rest', () => {
    expect(shellWord('--platform')).toBe('--platform');
    expect(shellWord('Q="a b"')).toBe(`'Q="a b"'`);
    expect(shellWord("it's")).toBe(`'it'\\''s'`);
    expect(shellWord('')).toBe("''");
    expect(shellWord('$(reboot)')).toBe("'$(reboot)'");
    expect(shellWord('-oProxyCommand=x')).toBe('-oProxyCommand=x');
  });

  it('refuses a NUL byte, which no shell argument can hold', () => {
    expect(() => shellWord('a\0b')).toThrow(/NUL/);
  });

  it('gives sh back exactly the words: substitutions, quotes, backslashes, newlines, globs', () => {
    const nasty = [
      '$(touch /tmp/x)',
      '`id`',
      `"double" 'single'`,
      'line1\nline2\n',
      '\\',
      '*',
      '~',
      'a b\tc',
      '',
      '!',
      '#c',
      ';&|<>',
      "'",
      "''",
    ];
    expect(throughSh(nasty)).toEqual(nasty);
  });

  it('round-trips arbitrary strings through a real sh', () => {
    // Printable and control characters and multi-byte text; NUL is refused above.
    const unit = fc.oneof(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
      fc.constantFrom("'", '"', '\\', '\n', '$', '`', ' ', '\t'),
    );
    const word = fc.array(unit, { maxLength: 12 }).map((units) => units.join('').replaceAll('\0', ''));
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 6 }), (words) => {
        expect(throughSh(words)).toEqual(words);
      }),
      { numRuns: 150 },
    );
  });
});
