import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { redactor } from '../../src/exec/secrets.js';

const PASSWORD = 's3cr:t/p@ss+w"rd\\é';
/** Its base64 has + and /, and form encoding differs from encodeURIComponent (space, ! ( ) ~). */
const OTHER = "??? ~~~ (it's) >>>";
const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const base64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
const basic = (user: string, password: string) => `Authorization: Basic ${base64(`${user}:${password}`)}`;

/**
 * What may survive of `Basic ` + base64(user:password): the characters of the username and
 * colon (those not touching the password) before the mask, at most 3 (a partial
 * character and padding) after it.
 */
function expectOnlyUsernameSurvives(redacted: string, user: string): void {
  const prefix = Buffer.byteLength(`${user}:`, 'utf8');
  expect(redacted).toContain('***');
  expect(redacted.length - '***'.length).toBeLessThanOrEqual(
    'Authorization: Basic '.length + Math.ceil((8 * prefix) / 6) + 3,
  );
}

describe('redactor', () => {
  const redact = redactor([PASSWORD, OTHER]);

  it('masks the secret as written, longest first', () => {
    expect(redact(`login with ${PASSWORD} failed`)).toBe('login with *** failed');
    expect(redactor(['abc', 'abcdef'])('x abcdef y abc')).toBe('x *** y ***');
  });

  it('masks base64 of user:password at every alignment of the password, whatever the username', () => {
    for (const password of [PASSWORD, OTHER]) {
      for (const user of ['', 'u', 'us', 'use', 'user', 'acme-ci', 'ünïcødé']) {
        const line = basic(user, password);
        const redacted = redact(line);
        expect(redacted, line).not.toContain(base64(`${user}:${password}`));
        expectOnlyUsernameSurvives(redacted, user);
      }
    }
  });

  it('masks base64 and base64url of the secret alone and inside longer strings', () => {
    expect(base64url(OTHER)).not.toBe(base64(OTHER).replace(/=+$/, ''));
    expect(redact(`token ${base64(OTHER)} end`)).toBe('token *** end');
    expect(redact(`token ${base64url(OTHER)} end`)).toBe('token *** end');
    for (const user of ['a', 'ab', 'abc'])
      expect(redact(`jwt.${base64url(`${user}:${OTHER}`)}.sig`)).not.toContain(base64url(`${user}:${OTHER}`));
  });

  it('masks URL and form encodings, with upper or lower case hex', () => {
    for (const password of [PASSWORD, OTHER]) {
      const component = encodeURIComponent(password);
      const forms = [
        component,
        component.replaceAll('%20', '+'),
        new URLSearchParams({ p: password }).toString().slice(2),
        component.toLowerCase(),
      ];
      for (const form of forms)
        expect(redact(`GET /token?user=ci&password=${form}&scope=push`)).toBe(
          'GET /token?user=ci&password=***&scope=push',
        );
    }
    const url = new URL('https://registry.example.com/v2/');
    url.username = 'ci';
    url.password = PASSWORD;
    expect(redact(`fetching ${url.href}`)).toBe('fetching https://ci:***@registry.example.com/v2/');
  });

  it('masks JSON string escaping, with or without non-ASCII escaped', () => {
    expect(redact(JSON.stringify({ username: 'ci', password: PASSWORD }))).toBe('{"username":"ci","password":"***"}');
    expect(redact('{"password": "s3cr:t/p@ss+w\\"rd\\\\\\u00e9"}')).toBe('{"password": "***"}');
  });

  it('leaves ordinary text and base64 without the secret alone', () => {
    const lines = [
      'STEP 2/5: RUN apk add --no-cache curl',
      `Authorization: Basic ${base64('ci:another-password-entirely')}`,
      'sha256:3f4a1c0e9d8b7a6f5e4d3c2b1a09f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1',
      base64('s3cr:t/p@ss+w"rd'), // most of the password, but not all of it
    ];
    for (const line of lines) expect(redact(line)).toBe(line);
  });

  it('masks base64 only for secrets long enough not to hit random text', () => {
    expect(redactor(['abc'])(`abc ${base64('abc')} ${base64('x:abc')}`)).toBe(
      `*** ${base64('abc')} ${base64('x:abc')}`,
    );
  });

  it('does nothing without secrets', () => {
    expect(redactor(['', ''])('a ${b} *** c')).toBe('a ${b} *** c');
  });

  it('never lets base64 of user:password survive (property)', () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary-ascii', minLength: 6, maxLength: 40 }),
      fc.string({ unit: 'binary', minLength: 6, maxLength: 40 }),
    );
    const user = fc.oneof(
      fc.string({ unit: 'binary-ascii', maxLength: 20 }),
      fc.string({ unit: 'binary', maxLength: 20 }),
    );
    fc.assert(
      fc.property(text, user, (password, username) => {
        const redacted = redactor([password])(basic(username, password));
        expect(redacted).not.toContain(base64(`${username}:${password}`));
        expectOnlyUsernameSurvives(redacted, username);
      }),
      { numRuns: 500 },
    );
  });
});

describe('a secret as the registry sees it', () => {
  it('masks a password variable that ends in a newline, as login --password-stdin sends it (and its Basic header)', () => {
    const redact = redactor(['hunter2-long\n']);
    const basic = Buffer.from('ci:hunter2-long').toString('base64');
    expect(redact('denied for hunter2-long')).toBe('denied for ***');
    expect(redact(`Authorization: Basic ${basic}`)).not.toContain(basic);
  });
});

describe('redactor, for a large file secret (a certificate bundle)', () => {
  it('masks it whole, and never builds a regular expression V8 refuses', () => {
    const lines = Array.from({ length: 4000 }, (_, i) => `line ${i} ${'Q'.repeat(40)}${i}`);
    const bundle = `${lines.join('\n')}\n`;
    const redact = redactor([bundle, 'tok-1234']);
    // Built lazily or not, the expression must not be one V8 refuses (it would quote the secret).
    expect(redact(`before ${bundle} after tok-1234`)).toBe('before *** after ***');
    expect(redact('an ordinary line of output')).toBe('an ordinary line of output');
  });
});
