/**
 * Running one plan task: fill in its run-time values, run its command (retrying registry
 * operations that failed transiently), then check what it produced: the digest it pushed,
 * the list it verified, the output of its smoke test.
 */
import type { PlanTask } from '../plan/types.js';
import { checkPushedList, checkTestOutput } from './checks.js';
import { contextTar } from './context-upload.js';
import { orderListByPlatform } from './list-order.js';
import { diagnoseExit, diagnoseSpawn, type TaskFailure } from './failure.js';
import { backoffDelay, sleep, type RetryPolicy } from './retry.js';
import { HostFailure, type Runner } from './runner.js';
import type { Redact } from './secrets.js';
import type { TaskEnd } from './scheduler.js';
import { formatDuration } from '../util/duration.js';
import { MissingRunValue, resolveArg, resolveArgv, type RunValues } from './values.js';

export interface TaskContext {
  runner: Runner;
  values: RunValues & { digests: Map<string, string> };
  /** Where argv runs: the spec's directory here, the run's directory on a build host. */
  cwd: string;
  /** The spec's directory on this machine: build contexts are read from it for uploads. */
  specDir: string;
  env: Readonly<Record<string, string | undefined>>;
  /** Environment variables holding secrets: not passed on to the commands. */
  secretEnv: readonly string[];
  redact: Redact;
  retry: RetryPolicy;
  /** A registry operation that moves no byte and prints nothing for this long is stopped and retried. */
  registryIdleMs: number;
  random: () => number;
  /** Terminates this task's process (Ctrl-C). */
  signal: AbortSignal;
  /** For a registry answering 429: how long it asks us to wait, if it says (given the command that was refused). */
  retryAfter?: (argv: readonly string[]) => Promise<number | undefined>;
  onLine: (line: string, stream: 'stdout' | 'stderr') => void;
  onRetry: (retry: number, delayMs: number, failure: TaskFailure) => void;
}

export interface TaskRecord extends TaskEnd {
  retries: number;
  /** Time spent inside the task's processes, all attempts: the task's duration less this is our overhead (and backoff). */
  processMs: number;
  /** The digest this task pushed (push, stage) or verified (verify). */
  digest?: string;
  /** Said about a success that did less than asked (a cleanup that left an image in use). */
  note?: string;
}

export async function runTask(task: PlanTask, ctx: TaskContext): Promise<TaskRecord> {
  let argv: string[];
  try {
    argv = resolveArgv(task, ctx.values);
  } catch (error) {
    if (error instanceof MissingRunValue) return { status: 'failed', retries: 0, processMs: 0, failure: { reason: 'command-failed', message: `internal: ${error.message}` } };
    throw error;
  }
  const stdin = task.stdin ? ctx.env[task.stdin.env] : undefined;
  if (task.stdin && stdin === undefined) {
    return { status: 'failed', retries: 0, processMs: 0, failure: { reason: 'registry-auth', message: `${task.stdin.env} is not set`, hint: `export ${task.stdin.env} with the registry password or token` } };
  }

  let processMs = 0;
  const done = (record: Omit<TaskRecord, 'processMs'>): TaskRecord => ({ ...record, processMs: Math.round(processMs) });
  const interrupted = (attempt: number): TaskRecord =>
    done({ status: 'interrupted', retries: attempt, failure: { reason: 'interrupted', message: 'stopped by an interrupt' } });
  for (let attempt = 0; ; attempt++) {
    if (ctx.signal.aborted) return interrupted(attempt);
    const spawned = performance.now();
    let input: Awaited<ReturnType<typeof contextTar>> | string | undefined = stdin;
    if (task.upload) {
      try {
        input = await contextTar(ctx.specDir, task.upload);
      } catch (error) {
        return done({ status: 'failed', retries: attempt, failure: { reason: 'command-failed', message: `cannot send the context: ${(error as Error).message}` } });
      }
    }
    const outcome = await ctx.runner.run(
      { argv, cwd: ctx.cwd, ...(input !== undefined && { stdin: input }), hideEnv: ctx.secretEnv },
      {
        signal: ctx.signal,
        onLine: (line, stream) => ctx.onLine(ctx.redact(line), stream),
        ...(task.retry === 'registry' && { idleTimeoutMs: ctx.registryIdleMs }),
      },
    );
    processMs += performance.now() - spawned;
    // Masked before anything reads them: a cut made later (a message's length) must not split a secret.
    const stdout = ctx.redact(outcome.stdout);
    const stderr = ctx.redact(outcome.stderr);
    // A command that finished its work counts, even if Ctrl-C came meanwhile: its tag did move.
    if (outcome.exitCode === 0 && !outcome.spawnError && !outcome.terminated) return done({ ...(await checkOutcome(task, stdout, ctx)), retries: attempt });
    if (outcome.stalled && !ctx.signal.aborted) {
      const stalled: TaskFailure = {
        reason: 'registry-unavailable',
        message: `no answer: nothing moved for ${formatDuration(ctx.registryIdleMs)}, so it was stopped`,
        hint: 'the registry (or a proxy in front of it) accepted the connection and went silent; check it, or give slow links more time with --registry-timeout',
      };
      if (attempt < ctx.retry.retries) {
        const delay = backoffDelay(ctx.retry, attempt + 1, ctx.random);
        ctx.onRetry(attempt + 1, delay, stalled);
        await sleep(delay, ctx.signal);
        continue;
      }
      return done({ status: 'failed', retries: attempt, failure: { ...stalled, message: `${stalled.message} (after ${attempt} ${attempt === 1 ? 'retry' : 'retries'})` } });
    }
    if (outcome.terminated || ctx.signal.aborted) {
      if (task.kind === 'test') await removeContainer(argv, ctx);
      return interrupted(attempt);
    }
    // The build host failed, not the command: never retried here (a fallback may take over).
    if (outcome.hostFailure) return done({ status: 'failed', retries: attempt, failure: redactFailure(outcome.hostFailure, ctx.redact) });
    if (outcome.spawnError) return done({ status: 'failed', retries: attempt, failure: redactFailure(diagnoseSpawn(argv[0] ?? '', outcome.spawnError), ctx.redact) });

    const errorOutput = `${stderr}\n${lastLines(stdout, 20)}`;
    const diagnosis = diagnoseExit(outcome.exitCode, errorOutput);
    if (task.kind === 'reset') return done({ ...(await resetOutcome(task, errorOutput, ctx)), retries: attempt });
    if (task.kind === 'cleanup') {
      // Housekeeping: an image still in use (by another run's container, say) is left, and said so.
      return done({ status: 'succeeded', retries: attempt, note: `left in place: ${ctx.redact(diagnosis.failure.message)}` });
    }
    const retriable = diagnosis.transient && (task.retry === 'registry' || diagnosis.failure.reason === 'storage-race');
    if (retriable && attempt < ctx.retry.retries) {
      const retryAfterMs = diagnosis.rateLimited ? await ctx.retryAfter?.(argv) : undefined;
      const delay = backoffDelay(ctx.retry, attempt + 1, ctx.random, retryAfterMs);
      ctx.onRetry(attempt + 1, delay, redactFailure(diagnosis.failure, ctx.redact));
      await sleep(delay, ctx.signal);
      continue;
    }
    const failure = redactFailure(diagnosis.failure, ctx.redact);
    if (retriable) failure.message += ` (after ${attempt} ${attempt === 1 ? 'retry' : 'retries'})`;
    return done({ status: 'failed', retries: attempt, failure });
  }
}

/** After the command succeeded: record digests, check lists and test output. */
async function checkOutcome(task: PlanTask, stdout: string, ctx: TaskContext): Promise<Omit<TaskRecord, 'retries' | 'processMs'>> {
  switch (task.kind) {
    case 'push':
    case 'stage': {
      const read = await ctx.runner.readFile(ctx.cwd, ctx.values.digestFile(task.id)).catch((error: unknown) => error as Error);
      // The host went away between the push and reading its digest back: the host's failure, not the push's.
      if (read instanceof HostFailure) return { status: 'failed', failure: read.failure };
      const digest = (typeof read === 'string' ? read : '').trim();
      if (!/^sha256:[0-9a-f]{64}$/.test(digest)) {
        return { status: 'failed', failure: { reason: 'command-failed', message: 'the push succeeded but wrote no digest', hint: 'podman did not honour --digestfile: check the podman version (4.0 or newer)' } };
      }
      ctx.values.digests.set(task.id, digest);
      return { status: 'succeeded', digest };
    }
    case 'verify': {
      const listDigest = digestRead(task, ctx.values.digests);
      if (listDigest === undefined) return { status: 'failed', failure: { reason: 'command-failed', message: 'internal: verify has no staged digest to check' } };
      const digests = new Map<string, string>();
      for (const [platform, pushTask] of Object.entries(task.expect?.digestsFrom ?? {})) {
        const digest = ctx.values.digests.get(pushTask);
        if (digest !== undefined) digests.set(platform, digest);
      }
      const failure = checkPushedList(stdout, { listDigest, platforms: task.expect?.platforms ?? [], digests });
      return failure ? { status: 'failed', failure } : { status: 'succeeded', digest: listDigest };
    }
    case 'test': {
      const failure = checkTestOutput(stdout, task.expect?.output);
      return failure ? { status: 'failed', failure: redactFailure(failure, ctx.redact) } : { status: 'succeeded' };
    }
    case 'build': {
      if (!task.orderList) return { status: 'succeeded' };
      const { podman, list } = task.orderList;
      const ordered = await orderListByPlatform(podman, list, (argv) =>
        ctx.runner.run({ argv: argv.map((arg) => resolveArg(arg, ctx.values, task)), cwd: ctx.cwd, hideEnv: ctx.secretEnv }, { signal: ctx.signal, onLine: () => {} }),
      );
      if ('reason' in ordered) return { status: 'failed', failure: redactFailure(ordered, ctx.redact) };
      return { status: 'succeeded', ...(ordered.reordered && { note: 'list entries put in platform order' }) };
    }
    case 'login':
    case 'pull':
    case 'reset':
    case 'assemble':
    case 'cleanup':
    case 'upload':
      return { status: 'succeeded' };
    case 'publish': {
      const digest = digestRead(task, ctx.values.digests);
      return { status: 'succeeded', ...(digest !== undefined && { digest }) };
    }
  }
}

/** The digest another task pushed that this task's command reads (the list it verifies or publishes). */
function digestRead(task: PlanTask, digests: ReadonlyMap<string, string>): string | undefined {
  for (const arg of task.argv) if (typeof arg !== 'string' && arg.ref === 'digest') return digests.get(arg.task);
  return undefined;
}

/**
 * A reset that did not remove a list: nothing under that name is fine, a plain image there is
 * removed as an image; anything else fails loudly, since `build --manifest` would append to
 * the stale list and every later run would fail verify the same way.
 */
async function resetOutcome(task: PlanTask, errorOutput: string, ctx: TaskContext): Promise<Omit<TaskRecord, 'retries' | 'processMs'>> {
  if (/image not known|no such image|no such manifest/i.test(errorOutput)) return { status: 'succeeded', note: 'nothing to remove' };
  const byHand = `remove it by hand (podman manifest rm ${task.reset?.list ?? 'LIST'}) and build again`;
  if (/not a manifest list/i.test(errorOutput) && task.reset) {
    const argv = task.reset.ifNotAList.map((arg) => resolveArg(arg, ctx.values, task));
    const removed = await ctx.runner.run({ argv, cwd: ctx.cwd, hideEnv: ctx.secretEnv }, { signal: ctx.signal, onLine: (line, stream) => ctx.onLine(ctx.redact(line), stream) });
    if (removed.exitCode === 0 && !removed.spawnError && !removed.terminated) return { status: 'succeeded', note: 'removed an image (not a list) of that name' };
    return { status: 'failed', failure: { reason: 'command-failed', message: `cannot free the list's name: ${lastLines(ctx.redact(removed.stderr), 3).trim()}`, hint: byHand } };
  }
  const cause = diagnoseExit(1, errorOutput).failure;
  return { status: 'failed', failure: redactFailure({ ...cause, message: `cannot remove the stale local list: ${cause.message}`, hint: cause.hint ?? byHand }, ctx.redact) };
}

/**
 * An interrupted smoke test's container: conmon detached from `podman run`, so the container
 * may still run after podman was stopped. Removed by the name the plan gave it, where it ran.
 */
async function removeContainer(argv: readonly string[], ctx: TaskContext): Promise<void> {
  const name = argv[argv.indexOf('--name') + 1];
  if (!argv.includes('--name') || name === undefined) return;
  await ctx.runner.run({ argv: [argv[0]!, 'rm', '--force', '--time', '0', '--ignore', name], cwd: ctx.cwd, hideEnv: ctx.secretEnv }, { signal: new AbortController().signal, onLine: () => {} });
}

function redactFailure(failure: TaskFailure, redact: Redact): TaskFailure {
  return { ...failure, message: redact(failure.message), ...(failure.hint !== undefined && { hint: redact(failure.hint) }) };
}

function lastLines(text: string, count: number): string {
  return text.split('\n').slice(-count).join('\n');
}
