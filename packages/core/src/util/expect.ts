/**
 * Smoke-test patterns (test.expect), one engine for the spec's check and the run's match.
 */
import { RE2JS, RE2JSSyntaxException } from 're2js';

/**
 * test.expect is matched by RE2 (linear time in the output): a backtracking engine lets a
 * pattern such as ^(a+)+$ hang the event loop, out of reach of Ctrl-C. `m` as before.
 */
export function compileExpect(pattern: string): RE2JS | { message: string; hint: string } {
  try {
    return RE2JS.compile(pattern, RE2JS.MULTILINE);
  } catch (error) {
    if (!(error instanceof RE2JSSyntaxException)) throw error;
    // Some errors quote the whole pattern, with the (?m) the flag stands for.
    const at = error.input === `(?m)${pattern}` ? pattern : (error.input ?? '');
    if (/^\(\?<?[=!]|^\\[1-9k]/.test(at)) {
      return {
        message: `expect uses ${at.startsWith('\\') ? 'a backreference' : 'a lookaround'} (\`${at}\`), which the linear-time matcher cannot take`,
        hint: 'expect is RE2 syntax, without lookahead, lookbehind or backreferences: match the text itself, e.g. "^version 1\\."',
      };
    }
    return {
      message: `expect is not a valid regular expression: ${error.error}${at && `: \`${at}\``}`,
      hint: at.startsWith('\\u')
        ? 'expect is RE2 syntax: write a code point as \\x{e9}, not \\u00e9'
        : 'expect is RE2 syntax: escape special characters such as ( [ . * with a backslash',
    };
  }
}

/** Why a pattern cannot be a test.expect, for the spec's diagnostics; undefined when it can. */
export function expectProblem(pattern: string): { message: string; hint: string } | undefined {
  const compiled = compileExpect(pattern);
  return compiled instanceof RE2JS ? undefined : compiled;
}
