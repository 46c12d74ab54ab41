/**
 * Secrets are replaced by *** in everything we print or write: output lines, errors,
 * the report. Registry passwords never reach argv in the first place (they go on stdin),
 * but a registry may echo them back, e.g. a 403 body quoting the Authorization header;
 * so the forms a secret takes in HTTP and JSON are masked as well as the secret itself.
 */
export type Redact = (text: string) => string;

/**
 * Base64 fragments shorter than this would mask random text (7 characters are 42 bits):
 * secrets of 6 bytes or more get every alignment masked, shorter ones only themselves.
 */
const MIN_BASE64 = 7;

/**
 * A secret longer than this (a certificate bundle as a build secret, say) is masked as its
 * literal text only, by a linear search: its encodings and lines in one regular expression
 * would make that expression too large for V8 (which would throw, quoting the secret).
 */
const MAX_ENCODED = 4096;
/** Lines of a multi-line secret are masked one by one only for a short one (a token file, not a bundle). */
const MAX_LINES = 32;

export function redactor(secrets: Iterable<string>): Redact {
  const forms = new Set<string>();
  const long = new Set<string>();
  for (const secret of secrets) {
    if (secret.length > MAX_ENCODED) {
      long.add(secret);
      long.add(secret.trim());
      continue;
    }
    for (const variant of asSent(secret)) for (const form of encodedForms(variant)) forms.add(form);
  }
  const literal = (text: string): string => {
    let out = text;
    for (const secret of long) if (secret !== '') out = out.split(secret).join('***');
    return out;
  };
  if (forms.size === 0) return literal;
  // One pass per line whatever the number of forms. Longest first, because alternation
  // takes the first alternative that matches: a form that contains another is masked whole.
  const pattern = new RegExp(
    [...forms]
      .sort((a, b) => b.length - a.length)
      .map(escapeRegExp)
      .join('|'),
    'g',
  );
  return (text) => literal(text).replace(pattern, '***');
}

/**
 * The secret as a registry sees it: `login --password-stdin` reads lines and joins them, so a
 * variable holding "hunter2\n" (from a file, a Kubernetes secret) is sent as "hunter2"; each
 * line of a multi-line one may come back on its own.
 */
function asSent(secret: string): string[] {
  const all = secret.split(/\r?\n/);
  const lines = all.length > MAX_LINES ? [] : all.filter((line) => line.length >= 4);
  return [secret, secret.replace(/\r?\n/g, ''), ...lines].filter((variant) => variant.length > 0);
}

/** The secret as written, and as URL encoding, JSON and base64 would carry it. */
function encodedForms(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  // What goes over the wire: a lone surrogate is U+FFFD (and encodeURIComponent would throw on it).
  const wellFormed = bytes.toString('utf8');
  const json = JSON.stringify(secret).slice(1, -1);
  const url = new URL('http://host');
  url.password = wellFormed;
  const percent = [
    encodeURIComponent(wellFormed),
    encodeURIComponent(wellFormed).replaceAll('%20', '+'),
    new URLSearchParams([['', wellFormed]]).toString().slice(1), // application/x-www-form-urlencoded
    url.password, // userinfo: https://user:secret@host
  ];
  return [
    secret,
    json,
    json.replace(/[^ -~]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`), // ASCII-only JSON (Python's default)
    ...percent.flatMap((form) => [form, form.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase())]),
    ...base64Forms(bytes),
  ].filter((form) => form.length > 0);
}

/**
 * Base64 of the secret alone, and the fragments of it inside any longer base64 string
 * (`Basic ` + base64(`user:secret`)): at each of the 3 byte alignments, the characters
 * whose 6 bits all come from the secret, so they do not depend on what surrounds it.
 * The same idea as the GitHub Actions runner's masks for base64 of secrets.
 */
function base64Forms(bytes: Buffer): string[] {
  const forms = [bytes.toString('base64')];
  for (const shift of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64');
    forms.push(encoded.slice(Math.ceil((8 * shift) / 6), Math.floor((8 * (shift + bytes.length)) / 6)));
  }
  return forms
    .filter((form) => form.length >= MIN_BASE64)
    .flatMap((form) => [form, form.replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')]);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
