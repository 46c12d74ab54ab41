/**
 * `orchestrate build`'s engine: runs a plan. Sets up the run (its id, a private 0700
 * directory with the 0600 authfile and digest files), schedules the tasks under the caps,
 * reports every event, and removes the run's directory whatever happens.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Plan, PlanTask } from '../plan/types.js';
import type { TaskFailure } from './failure.js';
import { imageOutcomes, REPORT_FORMAT_VERSION, type RunReport, type TaskReport } from './report.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
import type { Runner } from './runner.js';
import { coverFallenHosts, fallbackGate, isHostFault, runOnHost, sshFigures } from './fallback.js';
import { hostContexts, listConnections, remoteAuths, type HostContext } from './hosts.js';
import { readAuths, userAuthfiles } from './run-inputs.js';
import { criticalPathPriority, schedule, type SchedulableTask, type TaskEnd } from './scheduler.js';
import { KINDS, policyOf } from './kinds.js';
import { redactor } from './secrets.js';
import { runTask, type TaskContext } from './task.js';
import { newRunId, resolveArgv } from './values.js';
import { secretEnvOf, readBuildSecrets, secretTexts, writeSecretFiles } from './build-secrets.js';
export { checkRunInputs, userAuthfiles } from './run-inputs.js';
import { stampRunDir, sweepLocalRunDirs } from './leftovers.js';
import { lockListNames, type ListLocks } from './list-locks.js';
import { runDeadline } from './run-timeout.js';

export type RunEvent =
  | { type: 'run-start'; runId: string; plan: Plan }
  | { type: 'task-start'; task: PlanTask; at: Date }
  | { type: 'task-output'; task: PlanTask; line: string; stream: 'stdout' | 'stderr' }
  | { type: 'task-retry'; task: PlanTask; retry: number; delayMs: number; failure: TaskFailure }
  | { type: 'task-end'; task: PlanTask; report: TaskReport }
  /** Something about the run as a whole a reader should know (a lock waited for, a dead run's leftovers removed). */
  | { type: 'notice'; message: string }
  | { type: 'run-end'; report: RunReport };

export interface ExecuteOptions {
  /** Where orchestrate was started: the plan's cwd is relative to it. */
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  runner: Runner;
  /** Global cap on tasks at once. Default: defaultJobs(plan). A host's `jobs` caps its builds and smoke tests. */
  jobs?: number;
  keepGoing: boolean;
  retry?: RetryPolicy;
  /** How long a registry operation may make no progress at all before it is stopped and retried; 0: no limit. Default: DEFAULT_REGISTRY_IDLE_MS. */
  registryIdleMs?: number;
  /** First Ctrl-C: start nothing new, terminate what runs (but let a begun publish finish). */
  interrupt: AbortSignal;
  /** Second Ctrl-C: terminate everything, publishes too. */
  kill: AbortSignal;
  /** The whole run's limit (--timeout): past it, the run stops as on the first Ctrl-C, and fails with reason `timeout`. */
  timeoutMs?: number;
  onEvent: (event: RunEvent) => void;
  retryAfter?: TaskContext['retryAfter'];
  now?: () => Date;
  random?: () => number;
  tmpDir?: string;
  /** Where the locks on local list names live. Default: per user and machine, whatever TMPDIR a run has. */
  lockDir?: string;
}

/**
 * One per user and machine, as podman's storage is: not under TMPDIR or XDG_RUNTIME_DIR,
 * which two CI jobs, or a cron job and a login session, may have apart (lockListNames
 * checks that it is private to this user).
 */
export function defaultLockDir(env: ExecuteOptions['env']): string {
  return path.join('/tmp', `orchestrate-locks-${process.getuid?.() ?? env['USER'] ?? 'user'}`);
}

/**
 * Long enough for what is silent for good reasons (a push waiting on containers-storage's lock
 * while a build commits a large layer, a registry finishing a huge upload), short enough that
 * one that went silent does not hold the run for its whole timeout.
 */
export const DEFAULT_REGISTRY_IDLE_MS = 5 * 60_000;

export async function executePlan(plan: Plan, options: ExecuteOptions): Promise<RunReport> {
  const now = options.now ?? (() => new Date());
  const random = options.random ?? Math.random;
  const startedAt = now();
  const runId = newRunId(startedAt, random);
  const specDir = path.resolve(options.cwd, plan.cwd);
  const secretEnv = secretEnvOf(plan);
  // checkRunInputs refused the run if one cannot be read: what is missing here fails its task.
  const secretValues = readBuildSecrets(plan, specDir, options.env).values;
  const redact = redactor([...secretEnv.map((name) => options.env[name] ?? ''), ...secretTexts(secretValues)]);
  const jobs = options.jobs ?? defaultJobs(plan);

  const tmp = options.tmpDir ?? tmpdir();
  const notices: string[] = [];
  const notice = (message: string): void => {
    notices.push(message);
    options.onEvent({ type: 'notice', message });
  };
  const deadline = runDeadline(options.timeoutMs, options.interrupt, notice);
  const interrupt = deadline.interrupt;
  // Runs killed before their cleanup left their directories (and authfiles) here.
  const swept = await sweepLocalRunDirs(tmp);
  // Private to this run: only we can read the authfile podman login writes into.
  const runDir = await mkdtemp(path.join(tmp, 'orchestrate-run-'));
  const reports = new Map<string, TaskReport>();
  let hosts = new Map<string, HostContext>();
  let locks: ListLocks | undefined;
  try {
    await stampRunDir(runDir);
    await writeSecretFiles(runDir, secretValues);
    const authfile = path.join(runDir, 'auth.json');
    // What the user is logged in to already (base images from private registries) comes
    // first; the spec's authfiles and this run's logins take precedence over it.
    const auths: Record<string, unknown> = {};
    // podman's own authfiles are optional: one that is not there (or broken) adds nothing.
    for (const file of userAuthfiles(options.env).reverse()) {
      const read = await readAuths(file);
      if (read.ok) Object.assign(auths, read.auths);
    }
    for (const registry of Object.values(plan.registries)) {
      if (registry.authfile !== undefined && plan.filters.push) {
        // checkRunInputs refused the run before this if it cannot be read.
        const read = await readAuths(path.resolve(specDir, registry.authfile));
        if (read.ok) Object.assign(auths, read.auths);
      }
    }
    await writeFile(authfile, JSON.stringify({ auths }), { mode: 0o600, flag: 'wx' });
    const remoteAuth = JSON.stringify({ auths: remoteAuths(plan, auths) });
    const needsConnections = Object.values(plan.hosts).some((h) => h.connection !== undefined);
    const listed = needsConnections ? await listConnections(options.runner, specDir) : undefined;
    const digests = new Map<string, string>();
    hosts = hostContexts({
      plan,
      specDir,
      runDir,
      runId,
      digests,
      local: options.runner,
      connections: listed?.ok ? listed.connections : [],
    });
    /** Build hosts found unreachable, lost or out of disk in this run: their remaining tasks fail at once, and their fallbacks run. */
    const down = new Map<string, TaskFailure>();
    if (swept.length > 0)
      notice(
        `removed ${swept.length === 1 ? 'the directory' : 'directories'} of a run that died before its cleanup (with its authfile): ${swept.join(', ')}`,
      );
    const localLists = plan.tasks.flatMap((t) => (t.kind === 'reset' && t.host === 'local' ? [t.list] : []));
    const lockDir = options.lockDir ?? defaultLockDir(options.env);
    locks = await lockListNames(lockDir, localLists, `run ${runId} of ${plan.spec}`, interrupt, (name, holder) =>
      notice(`waiting for ${holder}: it builds the local list ${name} too`),
    ).catch((error: unknown) => {
      notice(
        `local lists not locked against other runs: ${(error as Error).message} (remove ${lockDir} or give it to this user)`,
      );
      return undefined;
    });
    // After the locks: a live view that has started drawing could not say whom it waits for.
    options.onEvent({ type: 'run-start', runId, plan });

    const record = (task: PlanTask, ended: TaskReport): void => {
      const report = deadline.asTimeout(ended);
      reports.set(task.id, report);
      options.onEvent({ type: 'task-end', task, report });
    };
    const base = (task: PlanTask): TaskReport => ({
      id: task.id,
      kind: task.kind,
      image: task.image,
      platforms: task.platforms,
      host: task.host,
      status: 'skipped',
      retries: 0,
    });

    const interruptOrKill = AbortSignal.any([interrupt, options.kill]);
    const execute = async (task: PlanTask): Promise<TaskEnd> => {
      let start = now();
      options.onEvent({ type: 'task-start', task, at: start });
      const host = hosts.get(task.host);
      const result = await runOnHost(task, host, down, remoteAuth, secretEnv, interruptOrKill, () => {
        // Timed from here: waiting for the host's connection is the host's (report.hosts), not this task's.
        start = now();
        return runTask(task, {
          runner: host!.runner,
          values: host!.values,
          cwd: host!.cwd,
          specDir,
          localRunner: options.runner,
          env: options.env,
          secretEnv,
          secretValues,
          redact,
          retry: options.retry ?? DEFAULT_RETRY,
          registryIdleMs: options.registryIdleMs ?? DEFAULT_REGISTRY_IDLE_MS,
          random,
          // A publish is not cut short by the first Ctrl-C: tags move whole or not at all.
          signal: policyOf(task).finishesOnInterrupt ? options.kill : interruptOrKill,
          ...(options.retryAfter && { retryAfter: options.retryAfter }),
          onLine: (line, stream) => options.onEvent({ type: 'task-output', task, line, stream }),
          onRetry: (retry, delayMs, failure) => options.onEvent({ type: 'task-retry', task, retry, delayMs, failure }),
        });
      });
      // A stand-in's digest is the one its dependents read under the name of the task it replaces.
      if (
        result.status === 'succeeded' &&
        result.digest !== undefined &&
        task.standIn?.for !== undefined &&
        !digests.has(task.standIn.for)
      ) {
        digests.set(task.standIn.for, result.digest);
      }
      const end = now();
      const resolved = host ? resolveArgv(task, host.values) : undefined;
      const argv = resolved?.ok ? resolved.argv.map(redact) : undefined;
      record(task, {
        ...base(task),
        status: result.status,
        start: start.toISOString(),
        end: end.toISOString(),
        durationMs: end.getTime() - start.getTime(),
        processMs: result.processMs,
        retries: result.retries,
        ...(result.digest !== undefined && { digest: result.digest }),
        ...(result.failure && { failure: result.failure }),
        ...(result.note !== undefined && { note: result.note }),
        ...(argv && { argv }),
      });
      return result;
    };

    // Tags move whole or not at all: once one of an image's publishes started, the rest follow, unless killed.
    const publishesOf = new Map<string | null, string[]>();
    for (const t of plan.tasks.filter((t) => t.kind === 'publish')) {
      if (publishesOf.has(t.image)) publishesOf.get(t.image)!.push(t.id);
      else publishesOf.set(t.image, [t.id]);
    }
    const publishing = (task: PlanTask, started: ReadonlySet<string>): boolean =>
      !options.kill.aborted &&
      task.kind === 'publish' &&
      (publishesOf.get(task.image) ?? []).some((id) => started.has(id));
    const { peak, ends } = await schedule(plan.tasks, execute, {
      jobs,
      hostJobs: (host) => plan.hosts[host]?.jobs ?? 1,
      loadsHost,
      keepGoing: options.keepGoing,
      exclusive: exclusiveKey,
      conflicts: pullRace,
      priority: criticalPathPriority(plan.tasks, (t: SchedulableTask) => KINDS[t.kind].weight),
      interrupt,
      finishOnceBegun: publishing,
      onSkip: (task, end) =>
        record(task, { ...base(task), status: end.status, ...(end.failure && { failure: end.failure }) }),
      gate: (task, ends) => fallbackGate(task, ends, down),
      recoverable: (task, end) => isHostFault(end.failure) && plan.hosts[task.host]?.fallback === 'emulate',
      onReplaced: (replaced, by) => {
        const before = reports.get(replaced.id) ?? base(replaced);
        record(replaced, {
          ...before,
          status: 'replaced',
          note: `${plan.hosts[replaced.host] ? replaced.host : 'its host'} failed; ${by.id} did its work here`,
        });
      },
    });
    coverFallenHosts(plan, reports, down);
    for (const [name, host] of hosts) {
      if (host.ssh && host.ssh.swept.length > 0)
        notice(`${name}: removed run directories of runs that died before their cleanup: ${host.ssh.swept.join(', ')}`);
    }

    // A task the scheduler ended without our report (it threw): its end is the truth.
    for (const task of plan.tasks) {
      const end = ends.get(task.id);
      if (end && !reports.has(task.id))
        record(task, { ...base(task), status: end.status, ...(end.failure && { failure: end.failure }) });
    }
    // Each build host's run directory (its authfile, the contexts) goes, then its connection.
    const closed = await closeHosts(hosts);
    const endedAt = now();
    const tasks = plan.tasks.map((t) => reports.get(t.id) ?? base(t));
    const images = imageOutcomes(plan, reports);
    // A run stopped by its --timeout failed (exit 1): nobody chose to stop it.
    const interrupted = !deadline.expired && (options.interrupt.aborted || options.kill.aborted);
    // A publish already begun finishes after Ctrl-C: the run may have done all it was for.
    const allPublished =
      Object.values(images).length > 0 && Object.values(images).every((i) => i.status === 'published');
    if (interrupted && allPublished) notice('interrupted, but only after every image was published: all tags moved');
    const report: RunReport = {
      formatVersion: REPORT_FORMAT_VERSION,
      runId,
      spec: plan.spec,
      status: interrupted ? 'interrupted' : failed(tasks, images) ? 'failed' : 'succeeded',
      startedAt: startedAt.toISOString(),
      endedAt: endedAt.toISOString(),
      durationMs: endedAt.getTime() - startedAt.getTime(),
      jobs,
      keepGoing: options.keepGoing,
      peak,
      hosts: sshFigures(hosts, reports, closed),
      ...(notices.length > 0 && { notices }),
      images,
      tasks,
    };
    options.onEvent({ type: 'run-end', report });
    return report;
  } finally {
    // Also after an error: closing twice is closing once.
    await closeHosts(hosts);
    await locks?.release();
    await rm(runDir, { recursive: true, force: true });
  }
}

/** A run failed if a task failed, or an image was not built or published as planned (a host down with no stand-in for it, say). */
function failed(tasks: readonly TaskReport[], images: RunReport['images']): boolean {
  return (
    tasks.some((t) => t.status === 'failed') ||
    Object.values(images).some((i) => i.status === 'failed' || i.status === 'skipped')
  );
}

async function closeHosts(hosts: ReadonlyMap<string, HostContext>): Promise<Map<string, boolean>> {
  const removed = new Map<string, boolean>();
  await Promise.all(
    [...hosts].map(async ([name, host]) => host.ssh && removed.set(name, (await host.ssh.close()).removed)),
  );
  return removed;
}

/** Builds and smoke tests work their host's CPU and count against its `jobs` (kinds.ts); registry operations only against the global cap. */
export function loadsHost(task: PlanTask): boolean {
  return policyOf(task).loadsHost;
}

/** Every host busy, plus as many registry operations beside them. */
export function defaultJobs(plan: Plan): number {
  return 2 * Object.values(plan.hosts).reduce((sum, h) => sum + h.jobs, 0);
}

/** Tasks that must not overlap (kinds.ts): logins on one host, tag moves into one repository. */
export function exclusiveKey(task: PlanTask): string | undefined {
  return policyOf(task).exclusive?.(task);
}

/**
 * Builds on one host that pull one name would move the name under each other: podman keeps
 * one local image per name, and each platform's pull retags it. Only single-platform builds
 * of the same platform can share a name safely.
 */
export function pullRace(a: PlanTask, b: PlanTask): boolean {
  if (a.kind !== 'build' || b.kind !== 'build' || a.host !== b.host || !a.pulls || !b.pulls) return false;
  const onePlatform = a.platforms.length === 1 && b.platforms.length === 1 && a.platforms[0] === b.platforms[0];
  return !onePlatform && a.pulls.some((name) => b.pulls!.includes(name));
}
