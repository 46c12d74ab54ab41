/**
 * Build hosts failing mid-run: a host found unreachable, lost or out of disk is marked down
 * (its remaining tasks fail at once instead of each waiting for a timeout), and the stand-ins
 * the planner placed here for its platforms (`fallback: emulate`) then run.
 */
import type { Plan, PlanTask } from '../plan/types.js';
import type { TaskFailure } from './failure.js';
import type { HostContext } from './hosts.js';
import { policyOf } from './kinds.js';
import type { RunReport, TaskReport } from './report.js';
import type { TaskEnd } from './scheduler.js';
import type { TaskRecord } from './task.js';

const HOST_FAULTS: ReadonlySet<TaskFailure['reason']> = new Set([
  'host-unreachable',
  'host-lost',
  'host-down',
  'no-space',
]);

/** A failure of the build host itself, not of what ran there; a wrong host key or login is not one (those are never fallen back from). */
export function isHostFault(failure: TaskFailure | undefined): boolean {
  return failure !== undefined && HOST_FAULTS.has(failure.reason);
}

/** Runs one task on its host: opens the host's connection first (once), and marks the host down when it fails. */
export async function runOnHost(
  task: PlanTask,
  host: HostContext | undefined,
  down: Map<string, TaskFailure>,
  authfile: string,
  hideEnv: readonly string[],
  signal: AbortSignal,
  run: () => Promise<TaskRecord>,
): Promise<TaskRecord> {
  const failed = (failure: TaskFailure): TaskRecord => ({ status: 'failed', retries: 0, processMs: 0, failure });
  if (!host)
    return failed({
      reason: 'host-unreachable',
      message: `host ${task.host} has no address: its podman connection is not known here`,
    });
  const fault = down.get(task.host);
  if (fault) {
    const failure: TaskFailure = {
      reason: 'host-down',
      message: `not run: ${task.host} failed earlier in this run (${fault.message})`,
      ...(fault.hint !== undefined && { hint: fault.hint }),
    };
    // Its per-run images went with the host, or stay until it is back; either way not this run's failure.
    return policyOf(task).onHostDown === 'skip'
      ? { status: 'skipped', retries: 0, processMs: 0, failure }
      : failed(failure);
  }
  if (host.ssh) {
    const failure = await host.ssh.open(authfile, hideEnv, signal);
    if (failure?.reason === 'interrupted') return { status: 'interrupted', retries: 0, processMs: 0, failure };
    if (failure) {
      if (isHostFault(failure)) down.set(task.host, failure);
      return failed(failure);
    }
  }
  const record = await run();
  if (host.ssh && record.status === 'failed' && isHostFault(record.failure)) down.set(task.host, record.failure!);
  return record;
}

/**
 * A stand-in runs only if its host went down and the host's chain for that platform did not
 * succeed because of it: every task there that did not succeed failed through the host (or
 * was skipped behind such a failure). A chain that failed on its own (a RUN step, a smoke
 * test) is not rebuilt here: QEMU would only hide what the native host found.
 */
export function fallbackGate(
  task: { standIn?: PlanTask['standIn'] | undefined },
  ends: ReadonlyMap<string, TaskEnd>,
  down: ReadonlyMap<string, TaskFailure>,
): TaskEnd | undefined {
  const standIn = task.standIn;
  if (!standIn || !down.has(standIn.host)) return { status: 'not-needed' };
  const unsuccessful = standIn.after.map((id) => ends.get(id)).filter((end) => end?.status !== 'succeeded');
  const throughHost = (end: TaskEnd | undefined) =>
    isHostFault(end?.failure) || end?.failure?.reason === 'dependency-failed';
  return unsuccessful.length > 0 && unsuccessful.every(throughHost) ? undefined : { status: 'not-needed' };
}

/**
 * Once every platform a fallen host was to build was built by its stand-ins, the host's own
 * failures that served those platforms (its logins, pulls, and the uploads of images with
 * stand-ins) are covered too. An image placed on the host without stand-ins (manifest-first,
 * pinned there) is not: its failures stand.
 */
export function coverFallenHosts(
  plan: Plan,
  reports: Map<string, TaskReport>,
  down: ReadonlyMap<string, TaskFailure>,
): void {
  for (const [host, fault] of down) {
    const standIns = plan.tasks.filter((t) => t.standIn?.host === host && t.standIn.for !== undefined);
    if (standIns.length === 0) continue;
    if (!standIns.every((t) => ['succeeded', 'replaced'].includes(reports.get(t.standIn!.for!)?.status ?? '')))
      continue;
    const covered = new Set(standIns.map((t) => t.image));
    for (const task of plan.tasks) {
      const report = reports.get(task.id);
      if (task.host !== host || report?.status !== 'failed' || !isHostFault(report.failure)) continue;
      if (task.image !== null && !covered.has(task.image)) continue;
      reports.set(task.id, {
        ...report,
        status: 'replaced',
        note: `${host} failed (${fault.message}); its platforms were built here instead`,
      });
    }
  }
}

/** Per build host: connections made, connection set-up and context transfer time, and the time its tasks took. */
export function sshFigures(
  hosts: ReadonlyMap<string, HostContext>,
  reports: ReadonlyMap<string, TaskReport>,
  removed: ReadonlyMap<string, boolean>,
): NonNullable<RunReport['hosts']> {
  const figures: NonNullable<RunReport['hosts']> = {};
  for (const [name, host] of hosts) {
    if (!host.ssh) continue;
    const mine = [...reports.values()].filter((r) => r.host === name && r.durationMs !== undefined);
    const uploads = mine.filter((r) => r.kind === 'upload');
    figures[name] = {
      connections: host.ssh.timings.connections,
      connectMs: Math.round(host.ssh.timings.connectMs),
      uploads: uploads.length,
      uploadMs: uploads.reduce((sum, r) => sum + (r.durationMs ?? 0), 0),
      tasks: mine.length,
      taskMs: mine.reduce((sum, r) => sum + (r.durationMs ?? 0), 0),
      ...(removed.get(name) === false && { leftBehind: host.ssh.runDir }),
    };
  }
  return figures;
}
