import { lstat, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { read } from 'read';
import { generateSigstoreKeyPair, type Diagnostic } from '@multiarch/core';
import { EXIT, reportDiagnostics, type Io } from '../io.js';
import { printable } from '../render/printable.js';

export interface KeygenOptions {
  /** --passphrase-env: the environment variable holding the passphrase. */
  passphraseEnv?: string;
  force: boolean;
}

/**
 * Asks for a passphrase without echoing it; resolves undefined when the user cancelled (^C).
 * Injected by tests; the prompt itself is undefined when there is no terminal to ask on.
 */
export type PassphrasePrompt = (question: string) => Promise<string | undefined>;

/** The terminal's prompt, on stderr so stdout stays clean; only when both stdin and stderr are terminals. */
export function terminalPrompt(): PassphrasePrompt | undefined {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  return (question) =>
    read({ prompt: question, silent: true, input: process.stdin, output: process.stderr }).catch(() => undefined);
}

/**
 * `orchestrate keygen NAME`: writes NAME.key (an encrypted sigstore private key, mode 0600)
 * and NAME.pub, never over files that are there without --force. Exit 0 written, 2 if not.
 */
export async function keygenCommand(
  io: Io,
  name: string,
  options: KeygenOptions,
  prompt: PassphrasePrompt | undefined = terminalPrompt(),
): Promise<number> {
  const fail = (diagnostic: Omit<Diagnostic, 'severity'>): number => {
    reportDiagnostics(io, [{ severity: 'error', ...diagnostic }]);
    return EXIT.usage;
  };
  if (/\.(key|pub)$/.test(name))
    return fail({
      code: 'invalid-value',
      message: `"${printable(name)}" ends in its extension; keygen adds .key and .pub itself`,
      hint: `run \`orchestrate keygen ${printable(name.replace(/\.(key|pub)$/, ''))}\``,
    });
  const keyFile = path.resolve(io.cwd, `${name}.key`);
  const pubFile = path.resolve(io.cwd, `${name}.pub`);
  const shown = (file: string): string => printable(path.relative(io.cwd, file) || file);

  if (!options.force)
    for (const file of [keyFile, pubFile])
      if ((await lstat(file).catch(() => undefined)) !== undefined)
        return fail({
          code: 'key-exists',
          file: shown(file),
          message: `${shown(file)} is there already; keygen does not overwrite keys`,
          hint: 'choose another NAME, or pass --force to replace the pair (what was signed with the old key then verifies with the old .pub only)',
        });

  const passphrase = await readPassphrase(options, io, prompt, shown(keyFile));
  if (passphrase === undefined) {
    io.stderr('keygen: cancelled, nothing written\n');
    return EXIT.interrupted;
  }
  if (typeof passphrase !== 'string') return fail(passphrase);

  const pair = await generateSigstoreKeyPair(passphrase);
  try {
    // --force removes first: writing over a file keeps its mode, and the key must be 0600.
    if (options.force) await Promise.all([rm(keyFile, { force: true }), rm(pubFile, { force: true })]);
    await writeFile(keyFile, pair.privateKey, { flag: 'wx', mode: 0o600 });
    await writeFile(pubFile, pair.publicKey, { flag: 'wx', mode: 0o644 }).catch(async (error: unknown) => {
      await rm(keyFile, { force: true }); // half a pair is of no use
      throw error;
    });
  } catch (error) {
    return fail({
      code: 'file-unwritable',
      file: shown(keyFile),
      message: `cannot write the key pair: ${(error as Error).message}`,
      hint: 'check that the folder exists and is writable',
    });
  }
  io.stdout(
    `wrote ${shown(keyFile)} (private key, encrypted, mode 0600) and ${shown(pubFile)} (public key)\n` +
      `sign: podman push --sign-by-sigstore-private-key ${shown(keyFile)} --sign-passphrase-file FILE ...\n` +
      `verify: give consumers ${shown(pubFile)} for a sigstoreSigned policy (see the README)\n`,
  );
  return EXIT.ok;
}

/**
 * The passphrase from --passphrase-env, else asked twice on the terminal; a diagnostic when
 * neither can be, undefined when the user cancelled the prompt.
 */
async function readPassphrase(
  options: KeygenOptions,
  io: Io,
  prompt: PassphrasePrompt | undefined,
  keyFile: string,
): Promise<string | Omit<Diagnostic, 'severity'> | undefined> {
  const envName = options.passphraseEnv;
  if (envName !== undefined) {
    const value = io.env[envName];
    if (value === undefined || value === '')
      return {
        code: 'secret-not-set',
        message: `the environment variable ${printable(envName)} (--passphrase-env) is ${value === undefined ? 'not set' : 'empty'}`,
        hint: `set ${printable(envName)} to the passphrase that is to encrypt ${keyFile}`,
      };
    return value;
  }
  if (prompt === undefined)
    return {
      code: 'passphrase-missing',
      message: 'no passphrase: there is no terminal to ask on and --passphrase-env was not given',
      hint: 'pass --passphrase-env NAME with the passphrase in the environment variable NAME, or run keygen in a terminal',
    };
  const first = await prompt(`Passphrase for ${keyFile}: `);
  if (first === undefined) return undefined;
  if (first === '')
    return {
      code: 'passphrase-missing',
      message: 'the passphrase is empty',
      hint: 'an empty passphrase would leave the key unprotected: type one',
    };
  const again = await prompt('The same passphrase again: ');
  if (again === undefined) return undefined;
  if (again !== first)
    return {
      code: 'passphrase-mismatch',
      message: 'the two passphrases differ',
      hint: 'run keygen again and type the same passphrase twice',
    };
  return first;
}
