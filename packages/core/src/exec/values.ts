/**
 * Run-time values: what the plan names (`<authfile>`, `<run-id>`, `<digest of push:x>`)
 * filled in for one run. Pure: the run's directory and digests are given.
 */
import type { Arg, PlanTask } from '../plan/types.js';

export interface RunValues {
  runId: string;
  authfile: string;
  /** The file a task writes its pushed digest to. */
  digestFile(taskId: string): string;
  /** Digests pushed so far in this run, by task id. */
  digests: ReadonlyMap<string, string>;
  /** Image ids found in local storage so far (local-base tasks), by task id. */
  imageIds?: ReadonlyMap<string, string>;
  /** The file holding build secret `name` on this host (in the run's directory). */
  secretFile?: (name: string) => string;
}

/**
 * argv with its run-time values filled in, or the value that is missing: a digest asked for
 * before its task pushed one is a planner bug, not a user error, reported as a value.
 */
export type ResolvedArgv = { ok: true; argv: string[] } | { ok: false; missing: string };

function valueOf(arg: Exclude<Arg, string>, values: RunValues, task: PlanTask): string | undefined {
  switch (arg.ref) {
    case 'authfile':
      return values.authfile;
    case 'run-id':
      return values.runId;
    case 'digest-file':
      return values.digestFile(task.id);
    case 'digest':
      return values.digests.get(arg.task);
    case 'image-id':
      return values.imageIds?.get(task.id);
    case 'secret-file':
      return values.secretFile?.(arg.name);
  }
}

function missing(arg: Exclude<Arg, string>, task: PlanTask): string {
  return arg.ref === 'digest'
    ? `${task.id} needs the digest of ${arg.task}, which has not pushed one`
    : `${task.id} has no ${arg.ref} yet`;
}

/** `args` (the task's argv, or another command of its kind) with the run's values filled in. */
export function resolveArgs(args: readonly Arg[], values: RunValues, task: PlanTask): ResolvedArgv {
  const argv: string[] = [];
  for (const arg of args) {
    if (typeof arg === 'string') {
      argv.push(arg);
      continue;
    }
    const value = valueOf(arg, values, task);
    if (value === undefined) return { ok: false, missing: missing(arg, task) };
    argv.push(`${arg.prefix ?? ''}${value}${arg.suffix ?? ''}`);
  }
  return { ok: true, argv };
}

export function resolveArgv(task: PlanTask, values: RunValues): ResolvedArgv {
  return resolveArgs(task.argv, values, task);
}

/**
 * A run id that is unique per run, sorts by time and is valid in a tag:
 * staging tags built from it cannot collide between two concurrent runs.
 */
export function newRunId(now: Date, random: () => number): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const suffix = Array.from({ length: 6 }, () => Math.floor(random() * 36).toString(36)).join('');
  return `${stamp}-${suffix}`.toLowerCase();
}
