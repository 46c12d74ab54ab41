/**
 * What a task's command produced, kind by kind: the digest a push wrote, the list a verify
 * read, a smoke test's output, a reset that found nothing to remove. Each is an entry's
 * `succeeded` or `failed` in kinds.ts; none reads argv back, only the task's own fields.
 */
import { removeContainerArgs } from '../plan/commands.js';
import type { TaskOf } from '../plan/types.js';
import { checkPushedList, checkTestOutput } from './checks.js';
import { diagnoseExit, type TaskFailure } from './failure.js';
import { orderListByPlatform } from './list-order.js';
import type { Redact } from './secrets.js';
import type { TaskContext, TaskOutcome } from './task.js';
import { resolveArgs } from './values.js';

const SUCCEEDED: TaskOutcome = { status: 'succeeded' };

export const succeeded = async (): Promise<TaskOutcome> => SUCCEEDED;

/** push, stage: the digest the command wrote with --digestfile, recorded for the tasks that read it. */
export async function pushedDigest(
  task: TaskOf<'push' | 'stage'>,
  _stdout: string,
  ctx: TaskContext,
): Promise<TaskOutcome> {
  const read = await ctx.runner.readFile(ctx.cwd, ctx.values.digestFile(task.id));
  // The host went away between the push and reading its digest back: the host's failure, not the push's.
  if (!read.ok && read.hostFailed) return { status: 'failed', failure: read.failure };
  const digest = (read.ok ? read.text : '').trim();
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) {
    return {
      status: 'failed',
      failure: {
        reason: 'command-failed',
        message: 'the push succeeded but wrote no digest',
        hint: 'podman did not honour --digestfile: check the podman version (4.0 or newer)',
      },
    };
  }
  ctx.values.digests.set(task.id, digest);
  return { status: 'succeeded', digest };
}

/** verify: the list read back is the one staged, with every platform (and per-arch, each digest this run pushed). */
export async function verifiedList(task: TaskOf<'verify'>, stdout: string, ctx: TaskContext): Promise<TaskOutcome> {
  const listDigest = ctx.values.digests.get(task.stage);
  if (listDigest === undefined)
    return {
      status: 'failed',
      failure: { reason: 'command-failed', message: 'internal: verify has no staged digest to check' },
    };
  const digests = new Map<string, string>();
  for (const [platform, pushTask] of Object.entries(task.expect.digestsFrom ?? {})) {
    const digest = ctx.values.digests.get(pushTask);
    if (digest !== undefined) digests.set(platform, digest);
  }
  const failure = checkPushedList(stdout, { listDigest, platforms: task.expect.platforms, digests });
  return failure ? { status: 'failed', failure } : { status: 'succeeded', digest: listDigest };
}

/** publish: the digest the tag now points at. */
export async function publishedDigest(
  task: TaskOf<'publish'>,
  _stdout: string,
  ctx: TaskContext,
): Promise<TaskOutcome> {
  const digest = ctx.values.digests.get(task.stage);
  return { status: 'succeeded', ...(digest !== undefined && { digest }) };
}

export async function testOutput(task: TaskOf<'test'>, stdout: string, ctx: TaskContext): Promise<TaskOutcome> {
  const failure = checkTestOutput(stdout, task.expect?.output);
  return failure ? { status: 'failed', failure: redactFailure(failure, ctx.redact) } : SUCCEEDED;
}

/** build: a list built from several platforms is put in platform order. */
export async function builtList(task: TaskOf<'build'>, _stdout: string, ctx: TaskContext): Promise<TaskOutcome> {
  if (!task.orderList) return SUCCEEDED;
  const { podman, list } = task.orderList;
  const ordered = await orderListByPlatform(podman, list, (argv) =>
    // Not cut by the first Ctrl-C: stopped between a remove and its add, the list would lose entries (a second Ctrl-C kills it all).
    ctx.runner.run(
      { argv, cwd: ctx.cwd, hideEnv: ctx.secretEnv },
      { signal: new AbortController().signal, onLine: () => {} },
    ),
  );
  if ('reason' in ordered) return { status: 'failed', failure: redactFailure(ordered, ctx.redact) };
  const note = ordered.reordered ? 'list entries put in platform order' : ordered.note;
  return { status: 'succeeded', ...(note !== undefined && { note }) };
}

/**
 * A reset that did not remove a list: nothing under that name is fine, a plain image there is
 * removed as an image; anything else fails loudly, since `build --manifest` would append to
 * the stale list and every later run would fail verify the same way.
 */
export async function resetFailed(task: TaskOf<'reset'>, errorOutput: string, ctx: TaskContext): Promise<TaskOutcome> {
  if (/image not known|no such image|no such manifest/i.test(errorOutput))
    return { status: 'succeeded', note: 'nothing to remove' };
  const byHand = `remove it by hand (podman manifest rm ${task.list}) and build again`;
  if (/not a manifest list/i.test(errorOutput)) {
    const resolved = resolveArgs(task.ifNotAList, ctx.values, task);
    const argv = resolved.ok ? resolved.argv : [];
    const removed = await ctx.runner.run(
      { argv, cwd: ctx.cwd, hideEnv: ctx.secretEnv },
      { signal: ctx.signal, onLine: (line, stream) => ctx.onLine(ctx.redact(line), stream) },
    );
    if (removed.exitCode === 0 && !removed.spawnError && !removed.terminated)
      return { status: 'succeeded', note: 'removed an image (not a list) of that name' };
    return {
      status: 'failed',
      failure: {
        reason: 'command-failed',
        message: `cannot free the list's name: ${lastLines(ctx.redact(removed.stderr), 3).trim()}`,
        hint: byHand,
      },
    };
  }
  const cause = diagnoseExit(1, errorOutput).failure;
  return {
    status: 'failed',
    failure: redactFailure(
      { ...cause, message: `cannot remove the stale local list: ${cause.message}`, hint: cause.hint ?? byHand },
      ctx.redact,
    ),
  };
}

/** Housekeeping: an image still in use (by another run's container, say) is left, and said so. */
export async function cleanupFailed(
  _task: TaskOf<'cleanup'>,
  errorOutput: string,
  ctx: TaskContext,
): Promise<TaskOutcome> {
  return { status: 'succeeded', note: `left in place: ${ctx.redact(diagnoseExit(1, errorOutput).failure.message)}` };
}

/**
 * An interrupted smoke test's container: conmon detached from `podman run`, so the container
 * may still run after podman was stopped. Removed by the name the plan gave it, where it ran.
 */
export async function removeTestContainer(task: TaskOf<'test'>, ctx: TaskContext): Promise<void> {
  const resolved = resolveArgs(removeContainerArgs(task.podman, task.container), ctx.values, task);
  if (!resolved.ok) return;
  const argv = resolved.argv;
  await ctx.runner.run(
    { argv, cwd: ctx.cwd, hideEnv: ctx.secretEnv },
    { signal: new AbortController().signal, onLine: () => {} },
  );
}

export function redactFailure(failure: TaskFailure, redact: Redact): TaskFailure {
  return {
    ...failure,
    message: redact(failure.message),
    ...(failure.hint !== undefined && { hint: redact(failure.hint) }),
    ...(failure.output !== undefined && { output: failure.output.map(redact) }),
  };
}

export function lastLines(text: string, count: number): string {
  return text.split('\n').slice(-count).join('\n');
}
