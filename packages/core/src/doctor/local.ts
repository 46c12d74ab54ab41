/**
 * The doctor's checks of this machine: tools, the container runtime, emulation of every
 * platform the plan builds here under QEMU, and free disk. Each probes through the Runner
 * and leaves the verdict to interpret.ts. The cheap ones are also the build's pre-flight.
 */
import { tmpdir } from 'node:os';
import type { Runner } from '../exec/runner.js';
import type { Plan } from '../plan/types.js';
import {
  binfmtEntry,
  cannotCheckEmulation,
  interpretArchRun,
  interpretBinfmt,
  interpretDisk,
  interpretTool,
  type Outcome,
} from './interpret.js';
import { probeImage, unameArgv, type ProbeSources } from './probe-image.js';
import type { CheckResult } from './types.js';

/** A command's outcome, given up after `timeoutMs` (a hung podman must not hang doctor). */
export function probe(runner: Runner, argv: string[], cwd = tmpdir(), timeoutMs = 60_000): Promise<Outcome> {
  return runner.run({ argv, cwd }, { signal: AbortSignal.timeout(timeoutMs), onLine: () => {} });
}

export const LOCAL_TOOLS = ['podman', 'buildah', 'skopeo'] as const;

export function checkTools(runner: Runner, tools: readonly string[] = LOCAL_TOOLS): Promise<CheckResult[]> {
  return Promise.all(tools.map(async (tool) => interpretTool(tool, await probe(runner, [tool, '--version']))));
}

/** Platforms the plan builds on this machine under QEMU (stand-ins for a failed host's included). */
export function emulatedHere(plan: Plan): string[] {
  const platforms = plan.tasks.flatMap((t) => (plan.hosts[t.host]?.kind === 'local' ? (t.emulated ?? []) : []));
  return [...new Set(platforms)].sort();
}

export async function checkBinfmt(runner: Runner, platform: string): Promise<CheckResult> {
  const entry = binfmtEntry(platform);
  if (entry === undefined)
    return {
      check: 'binfmt',
      subject: platform,
      status: 'fail',
      message: `QEMU cannot emulate ${platform}`,
      fix: `build ${platform} on a native host (hosts: in the spec)`,
    };
  const outcome = await probe(runner, ['cat', '--', entry]);
  if (outcome.exitCode === 0) return interpretBinfmt(platform, outcome);
  const status = await probe(runner, ['cat', '--', '/proc/sys/fs/binfmt_misc/status']);
  return interpretBinfmt(platform, outcome, status.exitCode === 0);
}

/** `uname -m` in a container of `platform`: natively (`runtime`) or under QEMU (`emulation`). */
export async function checkArchRun(
  runner: Runner,
  platform: string,
  check: 'runtime' | 'emulation',
  sources?: ProbeSources,
): Promise<CheckResult> {
  const found = await probeImage(platform, runner, sources);
  if ('missing' in found) return cannotCheckEmulation(platform, check, found.missing);
  return interpretArchRun(platform, await probe(runner, unameArgv(found.image, platform), tmpdir(), 120_000), check);
}

/** Free space where podman keeps images: its graph root, as `podman info` says (here, or through a host's runner). */
export async function checkDisk(
  runner: Runner,
  subject: string,
  podman = 'podman',
  cwd = tmpdir(),
): Promise<CheckResult> {
  const info = await probe(runner, [podman, 'info', '--format', '{{.Store.GraphRoot}}'], cwd);
  const root = info.stdout.trim();
  if (info.exitCode !== 0 || root === '') {
    return interpretDisk(subject, "podman's storage", info);
  }
  return interpretDisk(subject, root, await probe(runner, ['df', '-Pk', '--', root], cwd));
}

/**
 * What `build` checks before it starts, in a second or so: the tools the plan runs here, a
 * QEMU handler for each platform it emulates here, and free disk. The same rows as doctor's.
 */
export async function preflightChecks(plan: Plan, runner: Runner): Promise<CheckResult[]> {
  const local = plan.tasks.filter((t) => plan.hosts[t.host]?.kind === 'local');
  const tools = [...new Set(local.map((t) => t.argv[0]).filter((a): a is string => typeof a === 'string'))].sort();
  const [toolRows, binfmtRows, disk] = await Promise.all([
    checkTools(runner, tools),
    Promise.all(emulatedHere(plan).map((p) => checkBinfmt(runner, p))),
    local.length > 0 ? checkDisk(runner, 'this machine') : undefined,
  ]);
  return [...toolRows, ...binfmtRows, ...(disk ? [disk] : [])];
}
