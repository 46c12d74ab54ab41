/**
 * POSIX-shell quoting: the one function every remote argument goes through, and the one
 * the plan's text view uses to show commands a person can paste.
 *
 * Hand-written on purpose (the brief prefers libraries): single quotes are the only POSIX
 * quoting with no special characters inside, so quoting is "wrap in '...', and spell each
 * ' as '\''". That is small enough to prove with a property test against a real `sh`;
 * shell-quote, the usual library, picks among quoting styles per word and has had an
 * injection bug in exactly that choice (CVE-2021-42740).
 */

/** One word for `sh`: plain when it has only characters no shell treats specially, else single-quoted. */
export function shellWord(word: string): string {
  if (word.includes('\0')) throw new Error('a shell argument cannot hold a NUL byte');
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** A command line `sh -c` runs as exactly these arguments, byte for byte. */
export function shellCommand(argv: readonly string[]): string {
  return argv.map(shellWord).join(' ');
}
