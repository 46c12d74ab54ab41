/**
 * Runs a task DAG under concurrency caps: a global one (--jobs) and one per host (the
 * host's `jobs`). A task starts only when everything it depends on succeeded (or, for an
 * `always` task, ended). Which task runs is decided here; what running means is the
 * caller's `execute`, so this is tested with fake tasks.
 */
import type { PlanTask } from '../plan/types.js';
import type { TaskFailure } from './failure.js';

/**
 * - replaced: did not succeed (its build host failed), but its stand-in did the work here; dependents went on.
 * - not-needed: a stand-in that did not run because its host did not fail.
 */
export type TaskStatus = 'succeeded' | 'failed' | 'skipped' | 'interrupted' | 'replaced' | 'not-needed';

export interface TaskEnd {
  status: TaskStatus;
  failure?: TaskFailure;
}

/** What the scheduler reads of a task. `always`: runs once its dependencies ended, whether or not they succeeded (cleanups). */
export interface SchedulableTask {
  id: string;
  kind: PlanTask['kind'];
  image: string | null;
  host: string;
  dependsOn: readonly string[];
  always?: boolean;
  standIn?: PlanTask['standIn'];
}

/** What dependents may build on. */
const usable = (status: TaskStatus): boolean => status === 'succeeded' || status === 'replaced';

export interface ScheduleOptions<T extends SchedulableTask> {
  /** At most this many tasks at once, in all. */
  jobs: number;
  /** At most this many tasks that work a host's CPU (see `loadsHost`) at once on one host. */
  hostJobs: (host: string) => number;
  /** Tasks that count against their host's jobs; the rest (registry I/O) count only against `jobs`. */
  loadsHost?: (task: T) => boolean;
  /** After a failure, go on with everything that does not depend on it. */
  keepGoing: boolean;
  /** Tasks with the same key never run at the same time (logins writing one authfile). */
  exclusive?: (task: T) => string | undefined;
  /** Two tasks for which this is true never run at the same time (builds racing for one local image name). */
  conflicts?: (a: T, b: T) => boolean;
  /** Higher first among tasks ready at the same time. */
  priority?: ReadonlyMap<string, number>;
  /** Ctrl-C: start nothing new, except what `finishOnceBegun` allows. */
  interrupt: AbortSignal;
  /** A task that must still start after an interrupt or a failure: the rest of an image's publish, once begun. */
  finishOnceBegun?: (task: T, started: ReadonlySet<string>) => boolean;
  onSkip?: (task: T, end: TaskEnd) => void;
  /**
   * For a stand-in whose dependencies and host chain (`standIn.after`) have ended: undefined to
   * run it, or the end to give it instead (not needed: its host did not fail).
   */
  gate?: (task: T, ends: ReadonlyMap<string, TaskEnd>) => TaskEnd | undefined;
  /** A failure that does not stop the run without --keep-going: a stand-in may still do its work. */
  recoverable?: (task: T, end: TaskEnd) => boolean;
  /** A stand-in succeeded: `replaced` (which had not) now counts as done for its dependents. */
  onReplaced?: (replaced: T, by: T) => void;
}

export interface ScheduleResult {
  ends: Map<string, TaskEnd>;
  /** The most tasks that ran at once, in all, and per host of those that load it: the caps' proof. */
  peak: { total: number; hosts: Record<string, number> };
}

export async function schedule<T extends SchedulableTask>(
  tasks: readonly T[],
  execute: (task: T) => Promise<TaskEnd>,
  options: ScheduleOptions<T>,
): Promise<ScheduleResult> {
  const ends = new Map<string, TaskEnd>();
  const started = new Set<string>();
  const running = new Map<string, Promise<void>>();
  const runningTasks = new Map<string, T>();
  const perHost = new Map<string, number>();
  const held = new Set<string>();
  const peak = { total: 0, hosts: {} as Record<string, number> };
  let stopped = false;

  const order = [...tasks].sort((a, b) => (options.priority?.get(b.id) ?? 0) - (options.priority?.get(a.id) ?? 0));
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const standInFor = new Map<string, T>();
  for (const task of tasks) if (task.standIn?.for !== undefined) standInFor.set(task.standIn.for, task);
  /**
   * Ended, as `dependent` sees it: succeeded, or ended with no stand-in still to come. The
   * tasks of the chain a stand-in waits for see each other's plain end (else they would wait
   * for the stand-in, which waits for them).
   */
  const settled = (id: string, dependent: T): boolean => {
    const end = ends.get(id);
    if (!end) return false;
    const standIn = standInFor.get(id);
    return (
      end.status === 'succeeded' ||
      standIn === undefined ||
      ends.has(standIn.id) ||
      standIn.standIn!.after.includes(dependent.id)
    );
  };
  const finish = (task: T, end: TaskEnd): void => {
    ends.set(task.id, end);
    const replaced = task.standIn?.for === undefined ? undefined : byId.get(task.standIn.for);
    const before = replaced && ends.get(replaced.id);
    if (replaced && before && end.status === 'succeeded' && !usable(before.status)) {
      ends.set(replaced.id, { status: 'replaced', ...(before.failure && { failure: before.failure }) });
      options.onReplaced?.(replaced, task);
    }
  };

  const skip = (task: T, end: TaskEnd): void => {
    finish(task, end);
    options.onSkip?.(task, end);
  };

  /** Start what can start; settle what can never start. True when something changed. */
  const pump = (): boolean => {
    let changed = false;
    for (const task of order) {
      if (ends.has(task.id) || started.has(task.id)) continue;
      const mustFinish = options.finishOnceBegun?.(task, started) ?? false;
      const interrupted = options.interrupt.aborted && !mustFinish;
      if (interrupted) {
        skip(task, {
          status: 'skipped',
          failure: { reason: 'interrupted', message: 'not started: the run was interrupted' },
        });
        changed = true;
        continue;
      }
      const blocker = task.dependsOn.find((id) => settled(id, task) && !usable(ends.get(id)!.status));
      if (blocker !== undefined && !task.always) {
        // A stand-in after a stand-in that was not needed is not needed either.
        const notNeeded = task.standIn !== undefined && ends.get(blocker)!.status === 'not-needed';
        skip(
          task,
          notNeeded
            ? { status: 'not-needed' }
            : {
                status: 'skipped',
                failure: { reason: 'dependency-failed', message: `not run: ${blocker} did not succeed` },
              },
        );
        changed = true;
        continue;
      }
      if (stopped && !task.always && !mustFinish) {
        skip(task, {
          status: 'skipped',
          failure: { reason: 'run-stopped', message: 'not started: another task failed (use --keep-going to go on)' },
        });
        changed = true;
        continue;
      }
      if (!task.dependsOn.every((id) => settled(id, task))) continue;
      if (task.standIn) {
        if (!task.standIn.after.every((id) => ends.has(id))) continue;
        const gated = options.gate?.(task, ends);
        if (gated) {
          skip(task, gated);
          // The failure it could have stood in for is final now.
          if (task.standIn.for !== undefined && ends.get(task.standIn.for)?.status === 'failed' && !options.keepGoing)
            stopped = true;
          changed = true;
          continue;
        }
      }
      const loads = options.loadsHost?.(task) ?? true;
      const hostCount = perHost.get(task.host) ?? 0;
      if (running.size >= options.jobs || (loads && hostCount >= options.hostJobs(task.host))) continue;
      const key = options.exclusive?.(task);
      if (key !== undefined && held.has(key)) continue;
      if (options.conflicts && [...runningTasks.values()].some((other) => options.conflicts!(task, other))) continue;

      started.add(task.id);
      runningTasks.set(task.id, task);
      if (key !== undefined) held.add(key);
      if (loads) {
        perHost.set(task.host, hostCount + 1);
        peak.hosts[task.host] = Math.max(peak.hosts[task.host] ?? 0, hostCount + 1);
      }
      peak.total = Math.max(peak.total, running.size + 1);
      const done = settle(execute, task).then((end) => {
        finish(task, end);
        running.delete(task.id);
        runningTasks.delete(task.id);
        if (loads) perHost.set(task.host, (perHost.get(task.host) ?? 1) - 1);
        if (key !== undefined) held.delete(key);
        if (end.status === 'failed' && !options.keepGoing && !(options.recoverable?.(task, end) ?? false))
          stopped = true;
      });
      running.set(task.id, done);
      changed = true;
    }
    return changed;
  };

  // An interrupt wakes the loop once, to skip what has not started; after that only tasks ending do.
  let woken = options.interrupt.aborted;
  let onAbort = (): void => {};
  const wake = new Promise<void>((resolve) => {
    onAbort = resolve;
    options.interrupt.addEventListener('abort', onAbort, { once: true });
  }).then(() => {
    woken = true;
  });
  try {
    for (;;) {
      while (pump()) {
        // Skips can unblock or settle more tasks: go round until nothing changes.
      }
      if (running.size === 0) break;
      await Promise.race(woken ? [...running.values()] : [...running.values(), wake]);
    }
  } finally {
    options.interrupt.removeEventListener('abort', onAbort);
  }
  return { ends, peak };
}

async function settle<T>(execute: (task: T) => Promise<TaskEnd>, task: T): Promise<TaskEnd> {
  try {
    return await execute(task);
  } catch (error) {
    return {
      status: 'failed',
      failure: { reason: 'command-failed', message: `internal error: ${(error as Error).message}` },
    };
  }
}

/**
 * Longest weighted path from each task to the end of the DAG: starting the longest chains
 * first keeps the makespan near its lower bound when caps make tasks wait.
 */
export function criticalPathPriority(
  tasks: readonly SchedulableTask[],
  weight: (task: SchedulableTask) => number,
): Map<string, number> {
  const dependents = new Map<string, string[]>();
  for (const task of tasks) {
    for (const dep of task.dependsOn) {
      const list = dependents.get(dep);
      if (list) list.push(task.id);
      else dependents.set(dep, [task.id]);
    }
  }
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const priority = new Map<string, number>();
  // Tasks are in dependency order, so walking backwards sees every dependent first.
  for (const task of [...tasks].reverse()) {
    const below = Math.max(0, ...(dependents.get(task.id) ?? []).map((id) => priority.get(id) ?? 0));
    priority.set(task.id, weight(byId.get(task.id)!) + below);
  }
  return priority;
}
