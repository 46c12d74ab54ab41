import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { noWorkflowCommands, printable, printableDeep, shellDisplayWord } from '../src/render/printable.js';

describe('printable', () => {
  it('writes out control characters, line separators and bidi overrides', () => {
    expect(printable('a\rb\nc\x1b[2Kd')).toBe('a\\rb\\nc\\x1b[2Kd');
    expect(printable('\x00\x07\x7f\x85\x9b')).toBe('\\x00\\x07\\x7f\\x85\\x9b');
    expect(printable('x\u2028y\u2029z')).toBe('x\\u2028y\\u2029z');
    expect(printable('\u202eevil\u202c \u2066i\u2069')).toBe('\\u202eevil\\u202c \\u2066i\\u2069');
  });

  it('leaves TAB, backslashes, quotes and any other text alone, and escaping twice changes nothing', () => {
    const text = 'STEP 1/2:\tRUN echo "C:\\dir" \'q\' — ünï 日本 🚀';
    expect(printable(text)).toBe(text);
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => printable(printable(s)) === printable(s)));
  });

  it('leaves no character that moves the cursor or ends a line', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary' }),
        (s) => !/[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]/.test(printable(s)),
      ),
    );
  });

  it('escapes every string of an event and keeps what is not plain data', () => {
    const at = new Date(0);
    const event = printableDeep({ type: 'x', at, lines: ['a\rb'], nested: { message: '\x1b[1A' }, n: 1 });
    expect(event).toEqual({ type: 'x', at, lines: ['a\\rb'], nested: { message: '\\x1b[1A' }, n: 1 });
    expect(event.at).toBe(at);
  });
});

describe('shellDisplayWord', () => {
  it("quotes plain words as the shell does, and words with control characters in $'...'", () => {
    expect(shellDisplayWord('uname')).toBe('uname');
    expect(shellDisplayWord('a b')).toBe("'a b'");
    expect(shellDisplayWord('ok\n::error::x')).toBe("$'ok\\n::error::x'");
    expect(shellDisplayWord("it's\\\r")).toBe("$'it\\'s\\\\\\r'");
  });

  it('gives back the exact word when pasted into bash', () => {
    const words = fc.string({
      unit: fc.constantFrom('a', ' ', "'", '"', '\\', '$', '\n', '\r', '\t', '\x1b', '\x7f', '\u2028', 'x', '1'),
    });
    fc.assert(
      fc.property(fc.array(words, { minLength: 1, maxLength: 4 }), (argv) => {
        const script = `printf '%s\\0' ${argv.map(shellDisplayWord).join(' ')}`;
        const out = execFileSync('bash', ['-c', script], { encoding: 'utf8' });
        expect(out.split('\0').slice(0, -1)).toEqual(argv);
      }),
      { numRuns: 50 },
    );
    // 50 bash processes: on a loaded 2-core machine (CI ran it beside the e2e suites) over 30 s.
  }, 120_000);
});

describe('noWorkflowCommands', () => {
  it('escapes the start of a line that GitHub Actions would run as a workflow command', () => {
    expect(noWorkflowCommands('::error::forged')).toBe('\\x3a:error::forged');
    expect(noWorkflowCommands('ok\n  ::set-output name=a::b\n')).toBe('ok\n  \\x3a:set-output name=a::b\n');
    expect(noWorkflowCommands('\x1b[1m::add-mask::x')).toBe('\x1b[1m\\x3a:add-mask::x');
    expect(noWorkflowCommands('\u00a0##[group]x')).toBe('\u00a0\\x23#[group]x');
  });

  it('leaves "::" inside a line alone: IPv6 hosts, digests, messages', () => {
    for (const text of ['ssh b@[::1]:22', 'x ::error:: y', ':a:b', '#[x]', 'a\n:b'])
      expect(noWorkflowCommands(text)).toBe(text);
  });

  it('leaves no line that starts, after blanks and color codes, with :: or ##[', () => {
    const text = fc.string({ unit: fc.constantFrom(':', '#', '[', ' ', '\t', '\n', '\r', '\x1b[1m', 'a', '\u00a0') });
    fc.assert(
      fc.property(text, (s) =>
        noWorkflowCommands(s)
          .split(/\r?\n|\r/)
          .every((line) => !/^(?:\s|\x1b\[[0-9;]*m)*(?:::|##\[)/.test(line)),
      ),
    );
  });
});
