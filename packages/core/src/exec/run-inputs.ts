/**
 * What a run reads before anything runs: the checks that refuse it up front (secrets set,
 * files readable, connections known, local base images there), and the authfiles it merges.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Diagnostic } from '../diagnostics.js';
import type { Plan } from '../plan/types.js';
import { readBuildSecrets } from './build-secrets.js';
import { checkHosts } from './hosts.js';
import { checkLocalBases } from './local-base.js';
import type { Runner } from './runner.js';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * What must be true before anything runs: every password variable set, every authfile,
 * identity and known_hosts file readable, every podman connection named known (asked of
 * `runner`). Checked up front so that a missing secret costs nothing, not half a run.
 */
export async function checkRunInputs(plan: Plan, cwd: string, env: Env, runner?: Runner): Promise<Diagnostic[]> {
  const diagnostics: Diagnostic[] = [];
  const specDir = path.resolve(cwd, plan.cwd);
  const needed = new Set(plan.tasks.flatMap((t) => (t.kind === 'login' ? [t.stdin.env] : [])));
  for (const name of needed) {
    if (env[name] === undefined || env[name] === '') {
      const registries = Object.entries(plan.registries)
        .filter(([, r]) => r.auth === `env:${name}`)
        .map(([n]) => n);
      diagnostics.push({
        severity: 'error',
        code: 'secret-not-set',
        file: plan.spec,
        message: `${name} is not set: registry ${registries.join(', ')} reads its password from it`,
        hint: `export ${name}=... before the build (in CI, from the secret store), or build with --no-push`,
      });
    }
  }
  diagnostics.push(...(await checkHosts(plan, specDir, runner)));
  if (runner) diagnostics.push(...(await checkLocalBases(plan, specDir, runner)));
  diagnostics.push(...readBuildSecrets(plan, specDir, env).diagnostics);
  for (const [name, registry] of Object.entries(plan.registries)) {
    if (registry.authfile === undefined || !plan.filters.push) continue;
    const file = path.resolve(specDir, registry.authfile);
    const read = await readAuths(file);
    if (!read.ok) {
      diagnostics.push({
        severity: 'error',
        code: 'file-unreadable',
        file: plan.spec,
        message: `registry ${name}: cannot read authfile ${registry.authfile}: ${read.why}`,
        hint: 'create it with `podman login --authfile FILE SERVER`, or fix the path (relative to the spec)',
      });
    }
  }
  return diagnostics;
}

/**
 * The authfiles podman itself would read, most important first (containers-auth.json(5)):
 * REGISTRY_AUTH_FILE alone if set, else the runtime dir's, then ~/.config's, then Docker's.
 */
export function userAuthfiles(env: Env): string[] {
  if (env['REGISTRY_AUTH_FILE']) return [env['REGISTRY_AUTH_FILE']];
  const runtimeDir = env['XDG_RUNTIME_DIR'];
  const uid = process.getuid?.();
  const home = env['HOME'];
  const runtime = runtimeDir
    ? path.join(runtimeDir, 'containers/auth.json')
    : uid !== undefined
      ? `/run/containers/${uid}/auth.json`
      : undefined;
  return [
    ...(runtime === undefined ? [] : [runtime]),
    ...(home === undefined
      ? []
      : [path.join(home, '.config/containers/auth.json'), path.join(home, '.docker/config.json')]),
  ];
}

/** An authfile's entries, or why it cannot be read: a value, so each caller says what that means. */
export async function readAuths(
  file: string,
): Promise<{ ok: true; auths: Record<string, unknown> } | { ok: false; why: string }> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as unknown;
    if (typeof parsed !== 'object' || parsed === null) return { ok: false, why: 'not a JSON object' };
    return { ok: true, auths: (parsed as { auths?: Record<string, unknown> }).auths ?? {} };
  } catch (error) {
    return { ok: false, why: (error as Error).message };
  }
}
