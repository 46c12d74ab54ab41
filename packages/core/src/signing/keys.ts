/**
 * Sigstore signing keys in the format cosign writes and podman/skopeo read: an ECDSA P-256
 * key as PKCS#8, encrypted with a passphrase, in a PEM block whose body is JSON
 *   {"kdf":{"name":"scrypt","params":{"N","r","p"},"salt"},"cipher":{"name":"nacl/secretbox","nonce"},"ciphertext"}
 * (byte fields in standard base64), and its public key as PKIX in a "PUBLIC KEY" block.
 * Checked against sigstore's pkg/cryptoutils, go-securesystemslib's encrypted package,
 * cosign's pkg/cosign/keys.go and containers/image's signature/sigstore/copied.go.
 */
import { createPrivateKey, createPublicKey, generateKeyPair, randomBytes, scrypt, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { xsalsa20poly1305 } from '@noble/ciphers/salsa';

/**
 * The block type written. containers/image before 5.25 (skopeo 1.9, podman 4.3: Debian 12)
 * reads only this older name; cosign reads both, and writes the SIGSTORE one since 2.0.
 */
export const COSIGN_KEY_PEM_TYPE = 'ENCRYPTED COSIGN PRIVATE KEY';
export const SIGSTORE_KEY_PEM_TYPE = 'ENCRYPTED SIGSTORE PRIVATE KEY';
const ENCRYPTED_KEY_TYPES: readonly string[] = [COSIGN_KEY_PEM_TYPE, SIGSTORE_KEY_PEM_TYPE];

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/**
 * The only scrypt costs readers accept (a file must not choose a cost that exhausts memory):
 * go-tuf's encrypted package, as vendored by skopeo 1.9, accepts 2^15 alone; its successor
 * in go-securesystemslib also 2^16 and 2^17. Writing 2^15 keeps every reader able to open it.
 */
export const SCRYPT_LEGACY: ScryptParams = { N: 32768, r: 8, p: 1 };
const ACCEPTED_SCRYPT: readonly ScryptParams[] = [SCRYPT_LEGACY, { N: 65536, r: 8, p: 1 }, { N: 131072, r: 8, p: 1 }];

const SALT_BYTES = 32;
const NONCE_BYTES = 24;
const BOX_KEY_BYTES = 32;

export interface KeyPairPem {
  /** The encrypted private key, PEM (COSIGN_KEY_PEM_TYPE). */
  privateKey: string;
  /** The public key, PEM "PUBLIC KEY" (PKIX), what consumers verify with. */
  publicKey: string;
}

/** Why a key file did not open; never carries the passphrase. */
export type KeyFailure =
  | { reason: 'not-pem'; message: string }
  | { reason: 'unsupported-type'; message: string }
  | { reason: 'malformed'; message: string }
  | { reason: 'unsupported-kdf'; message: string }
  | { reason: 'wrong-passphrase'; message: string };

export type DecryptResult = { ok: true; key: KeyObject } | { ok: false; failure: KeyFailure };

/** A new ECDSA P-256 key pair, its private half encrypted with the passphrase. */
export async function generateSigstoreKeyPair(passphrase: string): Promise<KeyPairPem> {
  const { privateKey, publicKey } = await promisify(generateKeyPair)('ec', { namedCurve: 'prime256v1' });
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  return {
    privateKey: await encryptPrivateKey(pkcs8, passphrase),
    publicKey: publicKeyPem(publicKey),
  };
}

/** PKCS#8 DER → the encrypted PEM block, with fresh salt and nonce. */
export async function encryptPrivateKey(
  pkcs8: Uint8Array,
  passphrase: string,
  params: ScryptParams = SCRYPT_LEGACY,
): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const nonce = randomBytes(NONCE_BYTES);
  const boxKey = await deriveKey(passphrase, salt, params);
  // NaCl secretbox: the 16-byte Poly1305 tag first, then the ciphertext, as Go's secretbox.Seal.
  const sealed = xsalsa20poly1305(boxKey, nonce).encrypt(pkcs8);
  const body = {
    kdf: { name: 'scrypt', params: { N: params.N, r: params.r, p: params.p }, salt: base64(salt) },
    cipher: { name: 'nacl/secretbox', nonce: base64(nonce) },
    ciphertext: base64(sealed),
  };
  return pemEncode(COSIGN_KEY_PEM_TYPE, Buffer.from(JSON.stringify(body), 'utf8'));
}

/** The encrypted PEM (either block type) → the private key, as cosign's LoadPrivateKey reads it. */
export async function decryptPrivateKey(pem: string, passphrase: string): Promise<DecryptResult> {
  const fail = (reason: KeyFailure['reason'], message: string): DecryptResult => ({
    ok: false,
    failure: { reason, message },
  });
  const block = pemDecode(pem);
  if (block === undefined) return fail('not-pem', 'not a PEM file');
  if (!ENCRYPTED_KEY_TYPES.includes(block.type))
    return fail('unsupported-type', `a "${block.type}" PEM block, not an encrypted sigstore private key`);
  const body = parseEncryptedBody(block.bytes);
  if (typeof body === 'string') return fail('malformed', body);
  if (!ACCEPTED_SCRYPT.some((a) => a.N === body.params.N && a.r === body.params.r && a.p === body.params.p))
    return fail(
      'unsupported-kdf',
      `scrypt parameters N=${body.params.N} r=${body.params.r} p=${body.params.p} are not accepted`,
    );
  const boxKey = await deriveKey(passphrase, body.salt, body.params);
  let pkcs8: Uint8Array;
  try {
    pkcs8 = xsalsa20poly1305(boxKey, body.nonce).decrypt(body.ciphertext);
  } catch {
    // The authenticator fails alike for a wrong passphrase and for a tampered file.
    return fail('wrong-passphrase', 'the passphrase is wrong, or the key file was altered');
  }
  try {
    return { ok: true, key: createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' }) };
  } catch {
    return fail('malformed', 'the decrypted key is not PKCS#8');
  }
}

/** The public key of a key (or of a private one), PEM "PUBLIC KEY" (PKIX), as cosign writes NAME.pub. */
export function publicKeyPem(key: KeyObject): string {
  return (key.type === 'public' ? key : createPublicKey(key)).export({ format: 'pem', type: 'spki' }).toString();
}

interface EncryptedBody {
  params: ScryptParams;
  salt: Buffer;
  nonce: Buffer;
  ciphertext: Buffer;
}

/** The JSON inside the PEM block, checked field by field; a string says what is wrong. */
function parseEncryptedBody(bytes: Buffer): EncryptedBody | string {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    return 'the PEM block does not hold JSON';
  }
  const field = (value: unknown, key: string): unknown =>
    typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  const kdf = field(json, 'kdf');
  const cipher = field(json, 'cipher');
  if (field(kdf, 'name') !== 'scrypt') return 'the key derivation is not scrypt';
  if (field(cipher, 'name') !== 'nacl/secretbox') return 'the cipher is not nacl/secretbox';
  const params = field(kdf, 'params');
  const [N, r, p] = [field(params, 'N'), field(params, 'r'), field(params, 'p')];
  if (typeof N !== 'number' || typeof r !== 'number' || typeof p !== 'number') return 'scrypt parameters are missing';
  const salt = base64Field(field(kdf, 'salt'));
  const nonce = base64Field(field(cipher, 'nonce'));
  const ciphertext = base64Field(field(json, 'ciphertext'));
  if (salt === undefined || nonce === undefined || ciphertext === undefined)
    return 'salt, nonce or ciphertext is not base64';
  if (nonce.length !== NONCE_BYTES) return `the nonce is ${nonce.length} bytes, not ${NONCE_BYTES}`;
  return { params: { N, r, p }, salt, nonce, ciphertext };
}

function deriveKey(passphrase: string, salt: Uint8Array, params: ScryptParams): Promise<Buffer> {
  // scrypt needs 128·N·r bytes; Node's default ceiling (32 MiB) is below 2^17·8·128.
  const maxmem = 256 * params.N * params.r;
  return new Promise((resolve, reject) =>
    scrypt(passphrase, salt, BOX_KEY_BYTES, { N: params.N, r: params.r, p: params.p, maxmem }, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

/** Standard base64 with padding, as Go's encoding/json writes []byte; anything else is refused. */
function base64Field(value: unknown): Buffer | undefined {
  if (typeof value !== 'string' || !/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(value))
    return undefined;
  return Buffer.from(value, 'base64');
}

/** RFC 7468 text encoding, 64 columns, as Go's encoding/pem writes it. */
export function pemEncode(type: string, bytes: Uint8Array): string {
  const lines = base64(bytes).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.join('\n')}\n-----END ${type}-----\n`;
}

/** The first PEM block in the text (headers are not used by these keys and are refused). */
export function pemDecode(text: string): { type: string; bytes: Buffer } | undefined {
  const match = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]*?)-----END \1-----/.exec(text);
  if (match === null) return undefined;
  const [, type = '', body = ''] = match;
  return { type, bytes: Buffer.from(body.replace(/\s+/g, ''), 'base64') };
}
