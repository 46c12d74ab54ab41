import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import pc from 'picocolors';
import { describe, expect, it } from 'vitest';
import { decryptPrivateKey } from '@multiarch/core';
import { keygenCommand, type PassphrasePrompt } from '../src/commands/keygen.js';
import type { Io } from '../src/io.js';
import { orchestrate, project } from './helpers.js';

const PASSPHRASE = 'tr0ub4dor&3-keygen';

/** keygen in-process, with this prompt standing in for the terminal (undefined: no terminal). */
async function keygen(
  dir: string,
  args: { name?: string; passphraseEnv?: string; force?: boolean; env?: Record<string, string> },
  prompt?: PassphrasePrompt,
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const colors = pc.createColors(false);
  const io: Io = {
    cwd: dir,
    env: args.env ?? {},
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    colors: { stdout: colors, stderr: colors },
  };
  const options = {
    force: args.force ?? false,
    ...(args.passphraseEnv !== undefined && { passphraseEnv: args.passphraseEnv }),
  };
  const code = await keygenCommand(io, args.name ?? 'release', options, prompt);
  return { code, stdout, stderr };
}

/** A prompt that answers these in turn and records the questions. */
function answers(...replies: (string | undefined)[]): PassphrasePrompt & { asked: string[] } {
  const asked: string[] = [];
  const prompt = (question: string): Promise<string | undefined> => {
    asked.push(question);
    return Promise.resolve(replies.shift());
  };
  return Object.assign(prompt, { asked });
}

describe('orchestrate keygen', () => {
  it('writes NAME.key (0600, opens with the passphrase) and NAME.pub from --passphrase-env', async () => {
    const dir = project({});
    const run = await orchestrate(['keygen', 'keys-release', '--passphrase-env', 'SIGN_PW'], {
      cwd: dir,
      env: { SIGN_PW: PASSPHRASE },
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(`${run.stdout}${run.stderr}`).not.toContain(PASSPHRASE);
    const keyFile = path.join(dir, 'keys-release.key');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const opened = await decryptPrivateKey(readFileSync(keyFile, 'utf8'), PASSPHRASE);
    expect(opened.ok).toBe(true);
    expect(readFileSync(path.join(dir, 'keys-release.pub'), 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
  });

  it('with no terminal and no --passphrase-env, says so and exits 2, writing nothing', async () => {
    const dir = project({});
    const run = await orchestrate(['keygen', 'release'], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('passphrase-missing');
    expect(run.stderr).toContain('--passphrase-env');
    expect(existsSync(path.join(dir, 'release.key'))).toBe(false);
  });

  it('refuses an unset or empty --passphrase-env variable', async () => {
    const dir = project({});
    for (const env of [{}, { SIGN_PW: '' }]) {
      const run = await keygen(dir, { passphraseEnv: 'SIGN_PW', env });
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/secret-not-set.*SIGN_PW.*(not set|empty)/);
    }
    expect(existsSync(path.join(dir, 'release.key'))).toBe(false);
  });

  it('never overwrites a .key or a .pub that is there without --force', async () => {
    for (const existing of ['release.key', 'release.pub']) {
      const dir = project({ [existing]: 'keep me\n' });
      const run = await keygen(dir, { passphraseEnv: 'PW', env: { PW: PASSPHRASE } });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('key-exists');
      expect(readFileSync(path.join(dir, existing), 'utf8')).toBe('keep me\n');
      expect(existsSync(path.join(dir, existing === 'release.key' ? 'release.pub' : 'release.key'))).toBe(false);
    }
  });

  it('with --force replaces the pair, and the new key is 0600 even where the old one was not', async () => {
    const dir = project({ 'release.key': 'old\n', 'release.pub': 'old\n' });
    chmodSync(path.join(dir, 'release.key'), 0o644);
    const run = await keygen(dir, { passphraseEnv: 'PW', env: { PW: PASSPHRASE }, force: true });
    expect(run.code).toBe(0);
    expect(statSync(path.join(dir, 'release.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(path.join(dir, 'release.pub'), 'utf8')).toContain('PUBLIC KEY');
  });

  it('on a terminal asks twice, and writes only when both answers match', async () => {
    const dir = project({});
    const mismatch = await keygen(dir, {}, answers(PASSPHRASE, `${PASSPHRASE}x`));
    expect(mismatch.code).toBe(2);
    expect(mismatch.stderr).toContain('passphrase-mismatch');
    expect(existsSync(path.join(dir, 'release.key'))).toBe(false);

    const prompt = answers(PASSPHRASE, PASSPHRASE);
    const ok = await keygen(dir, {}, prompt);
    expect(ok.code).toBe(0);
    expect(prompt.asked).toEqual(['Passphrase for release.key: ', 'The same passphrase again: ']);
    const opened = await decryptPrivateKey(readFileSync(path.join(dir, 'release.key'), 'utf8'), PASSPHRASE);
    expect(opened.ok).toBe(true);
  });

  it('refuses an empty typed passphrase; a cancelled prompt exits 130; neither writes', async () => {
    const dir = project({});
    const empty = await keygen(dir, {}, answers(''));
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('passphrase-missing');
    const cancelled = await keygen(dir, {}, answers(PASSPHRASE, undefined));
    expect(cancelled.code).toBe(130);
    expect(existsSync(path.join(dir, 'release.key'))).toBe(false);
  });

  it('takes NAME without extension, and writes into an existing folder only', async () => {
    const dir = project({});
    const withExtension = await keygen(dir, { name: 'release.key', passphraseEnv: 'PW', env: { PW: PASSPHRASE } });
    expect(withExtension.code).toBe(2);
    expect(withExtension.stderr).toMatch(/invalid-value[^]*orchestrate keygen release`/);
    const missingFolder = await keygen(dir, { name: 'no/such/release', passphraseEnv: 'PW', env: { PW: PASSPHRASE } });
    expect(missingFolder.code).toBe(2);
    expect(missingFolder.stderr).toContain('file-unwritable');
  });
});
