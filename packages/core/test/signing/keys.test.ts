/**
 * The key format against cosign's own test keys (sigstore/cosign pkg/cosign/keys_test.go,
 * Apache-2.0, passphrase "hello"): what cosign wrote must open here, and what is written
 * here must have the exact shape cosign and containers/image read.
 */
import { createPublicKey, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  COSIGN_KEY_PEM_TYPE,
  decryptPrivateKey,
  encryptPrivateKey,
  generateSigstoreKeyPair,
  publicKeyPem,
  SCRYPT_LEGACY,
} from '../../src/signing/keys.js';

/** cosign's "SIGSTORE labeled key": scrypt N=2^15, an EC key as PKCS#8. */
const COSIGN_SIGSTORE_KEY = `-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----
eyJrZGYiOnsibmFtZSI6InNjcnlwdCIsInBhcmFtcyI6eyJOIjozMjc2OCwiciI6
OCwicCI6MX0sInNhbHQiOiI3T3VGd2VsbWZZNXVId2NoaURSc210anNwZ2ZlZjFG
Mk5lOGFDTjVLYVpZPSJ9LCJjaXBoZXIiOnsibmFtZSI6Im5hY2wvc2VjcmV0Ym94
Iiwibm9uY2UiOiJQNHk4OGhCb3ZTa09MbXN0bFVBaGJwdDJ0K2xTNUxQSCJ9LCJj
aXBoZXJ0ZXh0IjoiMnB1QzdyZldJOWh3bnJlQ2s4aUZDRlVwQlRrSzRJNlIvbFBF
cnBDekpXUGpJWXl4eGVIL1A2VW52cFJHdVhla1NNb3JMdGhLamdoQ1JlNy82NDVH
QWtoVm1LRC92eEF0S2EvbE1abENSQ3FlekJGUFd1dzNpeFRtZ2xhb2J1ZFVSbUVs
bmNGOGlZbzBTMVl6Y1ZOMVFwY2J2c0dNcUlYRzVlbmdteGp5dCtBcXlyZTF0Q0Y0
V01tU1BlaEljNlBqd2h1Q2xHaVpJUWRvTGc9PSJ9
-----END ENCRYPTED SIGSTORE PRIVATE KEY-----
`;

/** cosign's "COSIGN labeled EC key": scrypt N=2^16, but SEC 1 inside, which cosign refuses as not PKCS#8. */
const COSIGN_SEC1_KEY = `-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----
eyJrZGYiOnsibmFtZSI6InNjcnlwdCIsInBhcmFtcyI6eyJOIjo2NTUzNiwiciI6
OCwicCI6MX0sInNhbHQiOiJHK3F5WTYrNzhNS0JzMXNGTGs1ajYwcS9kS3Z1czBW
VkhlSHZybC9POTF3PSJ9LCJjaXBoZXIiOnsibmFtZSI6Im5hY2wvc2VjcmV0Ym94
Iiwibm9uY2UiOiJRc2JGdG13WDRDK2ttV3ZCcVRaMEFGOUFYdk1jRmg1SCJ9LCJj
aXBoZXJ0ZXh0IjoiREM5T28zeldiYVQzSXYwdFVnWEdycjUxYW1samwwNlQ5MTNP
VkxPbWpuMWhnK2o2WXRUbWg3SGhZSlY1N2J5eGE0Q281bE9YYmRqbTJ3aklubEd1
Um5aZCt5OExnekpSNzFSeEhKVzgrWmRlcFJmYWJMTjdHbDgrSFZEcERVQ3NxQnRh
VngyblpGbFEwWUl1anZwbFphblNGaUVvdERLVGkxZ3VhUXIwUHNzYU01NXZxbTRY
WS9rPSJ9
-----END ENCRYPTED COSIGN PRIVATE KEY-----
`;

describe('sigstore private keys', () => {
  it('opens a key cosign wrote, with its passphrase only', async () => {
    const opened = await decryptPrivateKey(COSIGN_SIGSTORE_KEY, 'hello');
    expect(opened.ok && opened.key.asymmetricKeyType).toBe('ec');
    const wrong = await decryptPrivateKey(COSIGN_SIGSTORE_KEY, 'hellO');
    expect(wrong).toMatchObject({ ok: false, failure: { reason: 'wrong-passphrase' } });
  });

  it('refuses what cosign refuses: a decrypted key that is not PKCS#8', async () => {
    expect(await decryptPrivateKey(COSIGN_SEC1_KEY, 'hello')).toMatchObject({
      ok: false,
      failure: { reason: 'malformed' },
    });
  });

  it('round-trips a generated P-256 key, and its .pub verifies what the key signs', async () => {
    const pair = await generateSigstoreKeyPair('correct horse');
    const opened = await decryptPrivateKey(pair.privateKey, 'correct horse');
    if (!opened.ok) throw new Error(opened.failure.message);
    expect(opened.key.asymmetricKeyDetails).toEqual({ namedCurve: 'prime256v1' });
    expect(publicKeyPem(opened.key)).toBe(pair.publicKey);
    const signature = sign('sha256', Buffer.from('payload'), opened.key);
    expect(verify('sha256', Buffer.from('payload'), createPublicKey(pair.publicKey), signature)).toBe(true);
  });

  it('fails with a wrong passphrase, and says nothing of either passphrase', async () => {
    const pair = await generateSigstoreKeyPair('s3cret-passphrase');
    const opened = await decryptPrivateKey(pair.privateKey, 'not-the-passphrase');
    expect(opened).toMatchObject({ ok: false, failure: { reason: 'wrong-passphrase' } });
    expect(JSON.stringify(opened)).not.toMatch(/s3cret|not-the/);
  });

  it('writes the exact layout readers expect: PEM type, JSON fields, sizes, 64 columns', async () => {
    const pair = await generateSigstoreKeyPair('pw');
    const lines = pair.privateKey.trimEnd().split('\n');
    expect(lines[0]).toBe(`-----BEGIN ${COSIGN_KEY_PEM_TYPE}-----`);
    expect(lines.at(-1)).toBe(`-----END ${COSIGN_KEY_PEM_TYPE}-----`);
    const body = lines.slice(1, -1);
    expect(body.slice(0, -1).every((l) => l.length === 64)).toBe(true);
    const json = JSON.parse(Buffer.from(body.join(''), 'base64').toString('utf8')) as {
      kdf: { name: string; params: unknown; salt: string };
      cipher: { name: string; nonce: string };
      ciphertext: string;
    };
    expect(Object.keys(json)).toEqual(['kdf', 'cipher', 'ciphertext']);
    expect(json.kdf.name).toBe('scrypt');
    expect(json.kdf.params).toEqual({ N: 32768, r: 8, p: 1 });
    expect(Buffer.from(json.kdf.salt, 'base64')).toHaveLength(32);
    expect(json.cipher).toEqual({ name: 'nacl/secretbox', nonce: expect.any(String) });
    expect(Buffer.from(json.cipher.nonce, 'base64')).toHaveLength(24);
    // secretbox adds a 16-byte tag to the PKCS#8 DER of a P-256 key (138 bytes from OpenSSL).
    expect(Buffer.from(json.ciphertext, 'base64')).toHaveLength(138 + 16);
    expect(pair.publicKey).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
  });

  it('opens the SIGSTORE block type too, and a tampered ciphertext fails like a wrong passphrase', async () => {
    const pair = await generateSigstoreKeyPair('pw');
    const opened = await decryptPrivateKey(pair.privateKey.replaceAll('COSIGN', 'SIGSTORE'), 'pw');
    expect(opened.ok).toBe(true);
    const block = pair.privateKey.split('\n').slice(1, -2).join('');
    const json = JSON.parse(Buffer.from(block, 'base64').toString('utf8')) as { ciphertext: string };
    const bytes = Buffer.from(json.ciphertext, 'base64');
    bytes[40] = (bytes[40] ?? 0) ^ 1;
    const tampered = {
      ...JSON.parse(Buffer.from(block, 'base64').toString('utf8')),
      ciphertext: bytes.toString('base64'),
    };
    const pem = `-----BEGIN ${COSIGN_KEY_PEM_TYPE}-----\n${Buffer.from(JSON.stringify(tampered)).toString('base64')}\n-----END ${COSIGN_KEY_PEM_TYPE}-----\n`;
    expect(await decryptPrivateKey(pem, 'pw')).toMatchObject({ ok: false, failure: { reason: 'wrong-passphrase' } });
  });

  it('refuses scrypt costs outside those readers accept, before deriving anything', async () => {
    const der = Buffer.from('not a key');
    const costly = await encryptPrivateKey(der, 'pw', { ...SCRYPT_LEGACY, N: 1024 });
    expect(await decryptPrivateKey(costly, 'pw')).toMatchObject({ ok: false, failure: { reason: 'unsupported-kdf' } });
  });

  it('refuses other PEM blocks and non-PEM text', async () => {
    const pair = await generateSigstoreKeyPair('pw');
    expect(await decryptPrivateKey(pair.publicKey, 'pw')).toMatchObject({ failure: { reason: 'unsupported-type' } });
    expect(await decryptPrivateKey('hello', 'pw')).toMatchObject({ failure: { reason: 'not-pem' } });
  });
});
