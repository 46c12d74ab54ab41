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
}

/** Raised when a digest is asked for before its task pushed one: a planner bug, not a user error. */
export class MissingRunValue extends Error {}

export function resolveArg(arg: Arg, values: RunValues, task: PlanTask): string {
  if (typeof arg === 'string') return arg;
  let value: string;
  switch (arg.ref) {
    case 'authfile':
      value = values.authfile;
      break;
    case 'run-id':
      value = values.runId;
      break;
    case 'digest-file':
      value = values.digestFile(task.id);
      break;
    case 'digest': {
      const digest = values.digests.get(arg.task);
      if (digest === undefined)
        throw new MissingRunValue(`${task.id} needs the digest of ${arg.task}, which has not pushed one`);
      value = digest;
      break;
    }
    case 'image-id': {
      const id = values.imageIds?.get(task.id);
      if (id === undefined) throw new MissingRunValue(`${task.id} has not found its image in local storage`);
      value = id;
      break;
    }
  }
  return `${arg.prefix ?? ''}${value}${arg.suffix ?? ''}`;
}

export function resolveArgv(task: PlanTask, values: RunValues): string[] {
  return task.argv.map((arg) => resolveArg(arg, values, task));
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
