/**
 * The doctor's registry checks: each registry of the spec answers, over TLS this machine
 * trusts, and takes the credentials `build` would use (a login into a throwaway authfile:
 * nothing is pushed, the user's own authfiles are never written). Credentials come as the
 * build reads them: the spec's password variable or authfile, else podman's own authfiles.
 */
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { registryHost } from '../exec/hosts.js';
import { userAuthfiles } from '../exec/run.js';
import type { Runner } from '../exec/runner.js';
import type { Model, Registry } from '../model/types.js';
import { interpretCredentialsStorage, type CredentialsFile } from './interpret-host.js';
import { interpretRegistry, type Outcome, type RegistryProbe } from './interpret.js';
import type { CheckResult } from './types.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Whether a directory is wiped at reboot: $XDG_RUNTIME_DIR, or podman's fallback /run/containers/UID. */
function volatile(file: string, env: Env): boolean {
  const runtime = env['XDG_RUNTIME_DIR'];
  const under = (dir: string): boolean => path.resolve(file).startsWith(path.resolve(dir) + path.sep);
  return (runtime !== undefined && runtime !== '' && under(runtime)) || under('/run/containers');
}

/** podman's own authfiles (most important first) that hold an entry for `server`. */
async function filesWithCredentials(server: string, env: Env): Promise<CredentialsFile[]> {
  const found: CredentialsFile[] = [];
  for (const file of userAuthfiles(env)) {
    const auths = await readFile(file, 'utf8')
      .then((text) => (JSON.parse(text) as { auths?: Record<string, unknown> }).auths ?? {})
      .catch(() => ({}));
    if (Object.keys(auths).some((key) => registryHost(key) === server))
      found.push({ file, volatile: volatile(file, env) });
  }
  return found;
}

function tlsFlag(registry: Registry): string[] {
  return registry.tlsVerify ? [] : ['--tls-verify=false'];
}

/** One registry: the probe to run, and how to read it. */
async function checkRegistry(
  registry: Registry,
  model: Model,
  specDir: string,
  env: Env,
  runner: Runner,
  work: string,
): Promise<CheckResult[]> {
  const subject = `registry ${registry.name} (${registry.server})`;
  const base = { subject, server: registry.server, tlsVerify: registry.tlsVerify };
  const scratchAuth = path.join(work, `${registry.name}.auth.json`);
  const run = (argv: string[], stdin?: string, hideEnv: string[] = []): Promise<Outcome> =>
    runner.run(
      { argv, cwd: specDir, ...(stdin !== undefined && { stdin }), hideEnv },
      { signal: AbortSignal.timeout(60_000), onLine: () => {} },
    );
  // Verifies the credentials already in an authfile (a copy: podman may rewrite it).
  const verify = async (file: string, login: string): Promise<CheckResult[]> => {
    await copyFile(file, scratchAuth);
    const outcome = await run([
      'podman',
      'login',
      '--authfile',
      scratchAuth,
      ...tlsFlag(registry),
      '--',
      registry.server,
    ]);
    const relogin = `log in again: podman login --authfile ${file} ${registry.server}`;
    return interpretRegistry({ ...base, login, relogin }, outcome);
  };
  const anonymous = async (probe: RegistryProbe): Promise<CheckResult[]> => {
    const image = model.images.find((i) => i.registries.includes(registry.name))?.name ?? 'orchestrate-doctor';
    const reference = `docker://${registry.url}/${image}:latest`;
    const argv = ['skopeo', 'inspect', '--raw', '--no-creds', ...tlsFlag(registry), '--', reference];
    return interpretRegistry(probe, await run(argv));
  };

  const auth = registry.auth;
  switch (auth.kind) {
    case 'password-env': {
      const password = env[auth.passwordEnv];
      if (password === undefined || password === '')
        return anonymous({
          ...base,
          missingCredentials: {
            message: `${auth.passwordEnv} is not set: the spec reads this registry's password from it`,
            fix: `export ${auth.passwordEnv}=... (in CI, from the secret store), then run doctor again`,
          },
        });
      const argv = ['podman', 'login', '--authfile', scratchAuth, ...tlsFlag(registry)];
      const outcome = await run(
        [...argv, '--username', auth.username, '--password-stdin', '--', registry.server],
        password,
        [auth.passwordEnv],
      );
      return interpretRegistry(
        { ...base, login: `login as ${auth.username} (password from $${auth.passwordEnv})` },
        outcome,
      );
    }
    case 'authfile': {
      const file = path.resolve(specDir, auth.path);
      const rows = await verify(file, `the credentials in ${auth.path}`).catch((error: unknown) => [
        {
          check: 'registry-credentials' as const,
          subject,
          status: 'fail' as const,
          message: `cannot read the authfile ${auth.path}: ${(error as Error).message}`,
          fix: `create it: podman login --authfile ${auth.path} ${registry.server}`,
        },
      ]);
      const storage = interpretCredentialsStorage(subject, registry.server, [{ file, volatile: volatile(file, env) }]);
      return [...rows, ...(storage ? [storage] : [])];
    }
    case 'none': {
      const files = await filesWithCredentials(registry.server, env);
      const first = files[0];
      if (first === undefined) return anonymous(base);
      const storage = interpretCredentialsStorage(subject, registry.server, files);
      return [...(await verify(first.file, `the credentials in ${first.file}`)), ...(storage ? [storage] : [])];
    }
  }
}

export async function checkRegistries(model: Model, specDir: string, env: Env, runner: Runner): Promise<CheckResult[]> {
  if (model.registries.length === 0) return [];
  const work = await mkdtemp(path.join(tmpdir(), 'orchestrate-doctor-auth-'));
  try {
    const rows = await Promise.all(model.registries.map((r) => checkRegistry(r, model, specDir, env, runner, work)));
    return rows.flat();
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
