/**
 * The run report (`--report FILE`): every task with its times, outcome, retries, digests
 * and failure reason, and each image's outcome. Versioned like the plan. Secrets are
 * redacted before anything lands here.
 */
import type { Plan, PlanTask } from '../plan/types.js';
import type { TaskFailure } from './failure.js';
import { KINDS } from './kinds.js';
import type { TaskStatus } from './scheduler.js';

export const REPORT_FORMAT_VERSION = 1;

export interface TaskReport {
  id: string;
  kind: PlanTask['kind'];
  image: string | null;
  platforms: string[];
  host: string;
  status: TaskStatus;
  /** ISO times; absent for tasks that never started. */
  start?: string;
  end?: string;
  durationMs?: number;
  /** Of durationMs, the time inside podman/skopeo processes (the rest is orchestrate's own, and backoff). */
  processMs?: number;
  retries: number;
  digest?: string;
  failure?: TaskFailure;
  note?: string;
  /** The command as run, run-time values filled in (never a secret: those go on stdin). */
  argv?: string[];
}

export type ImageStatus = 'published' | 'built' | 'failed' | 'skipped' | 'interrupted';

export interface ImageReport {
  status: ImageStatus;
  /** References whose tags this run moved. */
  published: string[];
  /** The list digest that was published, when it was. */
  digest?: string;
}

export interface RunReport {
  formatVersion: typeof REPORT_FORMAT_VERSION;
  runId: string;
  spec: string;
  status: 'succeeded' | 'failed' | 'interrupted';
  startedAt: string;
  endedAt: string;
  durationMs: number;
  jobs: number;
  keepGoing: boolean;
  /** What the run said about itself as a whole (leftovers of dead runs removed, locks waited for). */
  notices?: string[];
  /** The most tasks that ran at once, in all and per host. */
  peak: { total: number; hosts: Record<string, number> };
  /** Build hosts over ssh: connections opened (one ControlMaster each, unless it was lost), time to connect, to send contexts, and in all its tasks. */
  hosts?: Record<
    string,
    {
      connections: number;
      connectMs: number;
      uploads: number;
      uploadMs: number;
      tasks: number;
      taskMs: number;
      /** The run's directory on the host (contexts, an authfile) when it could not be removed: the host went away. */
      leftBehind?: string;
    }
  >;
  images: Record<string, ImageReport>;
  tasks: TaskReport[];
}

/** Each image's outcome, from its own tasks and the shared ones (logins, pulls) it waited for. */
export function imageOutcomes(plan: Plan, tasks: ReadonlyMap<string, TaskReport>): Record<string, ImageReport> {
  const byImage = new Map<string, PlanTask[]>();
  const shared = new Set<string>();
  for (const task of plan.tasks) {
    if (task.image === null) shared.add(task.id);
    else if (byImage.has(task.image)) byImage.get(task.image)!.push(task);
    else byImage.set(task.image, [task]);
  }
  return Object.fromEntries(
    Object.keys(plan.images).map((name) => [name, imageOutcome(plan, name, byImage.get(name) ?? [], shared, tasks)]),
  );
}

function imageOutcome(
  plan: Plan,
  name: string,
  planned: readonly PlanTask[],
  shared: ReadonlySet<string>,
  tasks: ReadonlyMap<string, TaskReport>,
): ImageReport {
  const own = planned.map((t) => tasks.get(t.id)).filter((t): t is TaskReport => t !== undefined);
  const publishes = own.filter((t) => t.kind === 'publish');
  const published = publishes.filter((t) => t.status === 'succeeded');
  const references = plan.images[name]?.publishes ?? [];
  const result = (status: ImageStatus): ImageReport => ({
    status,
    published: published.map((t) => references[publishes.indexOf(t)] ?? t.id),
    ...(published[0]?.digest !== undefined && { digest: published[0].digest }),
  });
  // A failed login or base-image pull belongs to no image, but the images that needed it failed with it.
  const sharedFailed = planned.some((t) =>
    t.dependsOn.some((id) => shared.has(id) && tasks.get(id)?.status === 'failed'),
  );
  if (sharedFailed || own.some((t) => t.status === 'failed')) return result('failed');
  const counted = own.filter((t) => KINDS[t.kind].countsForImage);
  if (counted.some((t) => t.status === 'interrupted' || t.failure?.reason === 'interrupted'))
    return result('interrupted');
  if (counted.some((t) => t.status === 'skipped')) return result('skipped');
  return result(publishes.length > 0 ? 'published' : 'built');
}
