/**
 * Secrets are replaced by *** in everything we print or write: output lines, errors,
 * the report. Registry passwords never reach argv in the first place (they go on stdin).
 */
export type Redact = (text: string) => string;

export function redactor(secrets: Iterable<string>): Redact {
  // Longest first, so a secret that contains another is masked whole.
  const values = [...new Set(secrets)].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  if (values.length === 0) return (text) => text;
  return (text) => values.reduce((out, secret) => out.split(secret).join('***'), text);
}
