/**
 * Build secrets' values, read once before the run from the environment or their files, and
 * written to 0600 files in the run's private directory (0700), which `podman build --secret
 * id=ID,src=FILE` reads. Build hosts get theirs from `secret` tasks (ssh's stdin). The values
 * are masked in all output; the variables holding them are hidden from every command.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import type { Diagnostic } from '../diagnostics.js';
import { readRegularFile } from '../model/context-files.js';
import type { Plan } from '../plan/types.js';

/** A secret larger than this is not a token or a config file: refused rather than read whole. */
const MAX_SECRET_BYTES = 1024 * 1024;

export interface BuildSecretValues {
  values: Map<string, Buffer>;
  diagnostics: Diagnostic[];
}

export function readBuildSecrets(
  plan: Plan,
  specDir: string,
  env: Readonly<Record<string, string | undefined>>,
): BuildSecretValues {
  const values = new Map<string, Buffer>();
  const diagnostics: Diagnostic[] = [];
  for (const [name, source] of Object.entries(plan.secrets)) {
    if ('env' in source) {
      const value = env[source.env];
      if (value === undefined || value === '')
        diagnostics.push({
          severity: 'error',
          code: 'secret-not-set',
          file: plan.spec,
          message: `${source.env} is not set: a build secret reads it`,
          hint: `export ${source.env}=... before the build (in CI, from the secret store)`,
        });
      else values.set(name, Buffer.from(value));
      continue;
    }
    const file = path.resolve(specDir, source.file.replace(/^~(?=\/)/, homedir()));
    const read = readRegularFile(file, MAX_SECRET_BYTES);
    if (!read)
      diagnostics.push({
        severity: 'error',
        code: 'file-unreadable',
        file: plan.spec,
        message: `build secret file ${source.file} cannot be read (missing, not a regular file, or over ${MAX_SECRET_BYTES} bytes)`,
        hint: "the path is relative to the spec's directory (or ~/...)",
      });
    else values.set(name, read.content);
  }
  return { values, diagnostics };
}

/**
 * The environment variables holding a plan's secrets (registry passwords, build secrets):
 * hidden from every command the run starts, pre-flight probes included.
 */
export function secretEnvOf(plan: Plan): string[] {
  return [
    ...new Set([
      ...plan.tasks.flatMap((t) => (t.kind === 'login' ? [t.stdin.env] : [])),
      ...Object.values(plan.secrets).flatMap((s) => ('env' in s ? [s.env] : [])),
    ]),
  ];
}

/** The texts to mask in output: each whole value, however short (the redactor masks the lines of a short multi-line one too). */
export function secretTexts(values: ReadonlyMap<string, Buffer>): string[] {
  return [...values.values()].flatMap((value) => {
    const text = value.toString('utf8');
    return [text, text.trim()].filter((t) => t.length > 0);
  });
}

/** Where the secret named `name` is, in the run's private directory here. */
export function localSecretFile(runDir: string, name: string): string {
  return path.join(runDir, 'secrets', name);
}

export async function writeSecretFiles(runDir: string, values: ReadonlyMap<string, Buffer>): Promise<void> {
  if (values.size === 0) return;
  await mkdir(path.join(runDir, 'secrets'), { mode: 0o700 });
  for (const [name, value] of values)
    await writeFile(localSecretFile(runDir, name), value, { mode: 0o600, flag: 'wx' });
}
