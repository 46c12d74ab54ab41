/**
 * `orchestrate doctor`: whether this machine, its registries and its build hosts can run the
 * spec's plan, checked for real (a container of each emulated platform runs, a login is
 * tried, each host is connected to) but without changing anything that matters: nothing is
 * pulled or pushed, the only image made is a tiny local probe image.
 */
import type { Diagnostic } from '../diagnostics.js';
import type { Runner } from '../exec/runner.js';
import { redactor } from '../exec/secrets.js';
import type { Model } from '../model/types.js';
import type { Plan } from '../plan/types.js';
import { checkBuildHosts } from './hosts.js';
import { checkArchRun, checkBinfmt, checkDisk, checkTools, emulatedHere } from './local.js';
import type { ProbeSources } from './probe-image.js';
import { checkRegistries } from './registries.js';
import { overallStatus, type CheckResult, type DoctorReport } from './types.js';

export interface DoctorInput {
  plan: Plan;
  model: Model;
  /** The spec's directory: relative paths in the spec are relative to it. */
  specDir: string;
  /** The analyzer's diagnostics: its warnings about the spec (short names in FROM) are rows too. */
  diagnostics: readonly Diagnostic[];
  env: Readonly<Record<string, string | undefined>>;
  runner: Runner;
  probeSources?: ProbeSources;
}

function specWarnings(diagnostics: readonly Diagnostic[]): CheckResult[] {
  return diagnostics
    .filter((d) => d.code === 'short-name-from')
    .map((d) => ({
      check: 'short-name-from' as const,
      subject:
        d.file === undefined ? 'spec' : `${d.file}${d.range ? `:${d.range.start.line}:${d.range.start.col}` : ''}`,
      status: 'warn' as const,
      message: d.message,
      ...(d.hint !== undefined && { fix: d.hint }),
    }));
}

/** Emulation of one platform: the handler first; the container only when there is one. */
async function checkEmulation(input: DoctorInput, platform: string): Promise<CheckResult[]> {
  const binfmt = await checkBinfmt(input.runner, platform);
  if (binfmt.status === 'fail') return [binfmt];
  return [binfmt, await checkArchRun(input.runner, platform, 'emulation', input.probeSources)];
}

export async function runDoctor(input: DoctorInput): Promise<DoctorReport> {
  const { plan, model, runner } = input;
  const [tools, disk, registries, hosts] = await Promise.all([
    checkTools(runner),
    checkDisk(runner, 'this machine'),
    checkRegistries(model, input.specDir, input.env, runner),
    checkBuildHosts(plan, model, input.specDir, runner),
  ]);
  // Containers one after another: podman's first run sets up its storage, and two cores are shared.
  const runtime = await checkArchRun(runner, plan.localPlatform, 'runtime', input.probeSources);
  const emulation: CheckResult[] = [];
  for (const platform of emulatedHere(plan)) emulation.push(...(await checkEmulation(input, platform)));
  const secrets = model.registries.flatMap((r) =>
    r.auth.kind === 'password-env' ? [input.env[r.auth.passwordEnv] ?? ''] : [],
  );
  const redact = redactor(secrets.filter((s) => s !== ''));
  const checks = [
    ...tools,
    runtime,
    ...emulation,
    disk,
    ...registries,
    ...hosts,
    ...specWarnings(input.diagnostics),
  ].map((c) => ({
    ...c,
    message: redact(c.message),
    ...(c.fix !== undefined && { fix: redact(c.fix) }),
    ...(c.detail !== undefined && { detail: redact(c.detail) }),
  }));
  return { status: overallStatus(checks), checks };
}

export { preflightChecks } from './local.js';
export { overallStatus, type CheckResult, type CheckKind, type CheckStatus, type DoctorReport } from './types.js';
