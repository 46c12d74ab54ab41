/**
 * Running one plan task: fill in its run-time values, run its command (retrying registry
 * operations that failed transiently), then let its kind (kinds.ts) say what it produced:
 * the digest it pushed, the list it verified, the output of its smoke test.
 */
import type { PlanTask } from '../plan/types.js';
import { formatDuration } from '../util/duration.js';
import { diagnoseExit, diagnoseSpawn, rawOutput, type Diagnosis, type TaskFailure } from './failure.js';
import { policyOf } from './kinds.js';
import { lastLines, redactFailure } from './outcomes.js';
import { backoffDelay, sleep, type RetryPolicy } from './retry.js';
import type { Runner } from './runner.js';
import type { Redact } from './secrets.js';
import type { TaskEnd } from './scheduler.js';
import { resolveArgv, type RunValues } from './values.js';

export interface TaskContext {
  runner: Runner;
  values: RunValues & { digests: Map<string, string>; imageIds: Map<string, string> };
  /** Where argv runs: the spec's directory here, the run's directory on a build host. */
  cwd: string;
  /** The spec's directory on this machine: build contexts are read from it for uploads. */
  specDir: string;
  /** Runs commands on this machine, whatever host the task is for (images sent to a build host come from here). */
  localRunner: Runner;
  env: Readonly<Record<string, string | undefined>>;
  /** Environment variables holding secrets: not passed on to the commands. */
  secretEnv: readonly string[];
  /** Build secrets' values by plan.secrets name, read once before the run (sent to build hosts by `secret` tasks). */
  secretValues: ReadonlyMap<string, Buffer>;
  redact: Redact;
  retry: RetryPolicy;
  /** A registry operation that moves no byte and prints nothing for this long is stopped and retried. */
  registryIdleMs: number;
  random: () => number;
  /** Terminates this task's process (Ctrl-C). */
  signal: AbortSignal;
  /** For a registry answering 429: how long it asks us to wait, if it says (given the task that was refused). */
  retryAfter?: (task: PlanTask, values: RunValues) => Promise<number | undefined>;
  onLine: (line: string, stream: 'stdout' | 'stderr') => void;
  onRetry: (retry: number, delayMs: number, failure: TaskFailure) => void;
}

/** What a task came to, before its retries and time are counted. */
export type TaskOutcome = Omit<TaskRecord, 'retries' | 'processMs'>;

export interface TaskRecord extends TaskEnd {
  retries: number;
  /** Time spent inside the task's processes, all attempts: the task's duration less this is our overhead (and backoff). */
  processMs: number;
  /** The digest this task pushed (push, stage) or verified (verify). */
  digest?: string;
  /** Said about a success that did less than asked (a cleanup that left an image in use). */
  note?: string;
}

export async function runTask(task: PlanTask, outer: TaskContext): Promise<TaskRecord> {
  // A build's or smoke test's timeout stops it as Ctrl-C would (its whole process tree, a test's container), once for all attempts.
  const timeoutMs = task.kind === 'build' || task.kind === 'test' ? task.timeoutMs : undefined;
  const deadline = timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs);
  const ctx = deadline ? { ...outer, signal: AbortSignal.any([outer.signal, deadline]) } : outer;
  const timedOut = (): boolean => deadline?.aborted === true && !outer.signal.aborted;
  const policy = policyOf(task);
  const prepared = await policy.prepare?.(task, ctx);
  if (prepared) return { ...prepared, retries: 0, processMs: 0 };
  const resolved = resolveArgv(task, ctx.values);
  if (!resolved.ok)
    return {
      status: 'failed',
      retries: 0,
      processMs: 0,
      failure: { reason: 'command-failed', message: `internal: ${resolved.missing}` },
    };
  const argv = resolved.argv;
  const retry = policy.retry(task);

  let processMs = 0;
  const done = (record: Omit<TaskRecord, 'processMs'>): TaskRecord => ({ ...record, processMs: Math.round(processMs) });
  const interrupted = (attempt: number, output = ''): TaskRecord =>
    timedOut()
      ? done({ status: 'failed', retries: attempt, failure: timeoutFailure(task, timeoutMs!, output) })
      : done({
          status: 'interrupted',
          retries: attempt,
          failure: { reason: 'interrupted', message: 'stopped by an interrupt' },
        });
  for (let attempt = 0; ; attempt++) {
    if (ctx.signal.aborted) return interrupted(attempt);
    const spawned = performance.now();
    // Made again for each attempt: a stream is read once.
    const input = await policy.input?.(task, ctx);
    if (input && 'failure' in input) return done({ status: 'failed', retries: attempt, failure: input.failure });
    const outcome = await ctx.runner.run(
      { argv, cwd: ctx.cwd, ...(input && { stdin: input.stdin }), hideEnv: ctx.secretEnv },
      {
        signal: ctx.signal,
        onLine: (line, stream) => ctx.onLine(ctx.redact(line), stream),
        ...(retry === 'registry' && ctx.registryIdleMs > 0 && { idleTimeoutMs: ctx.registryIdleMs }),
      },
    );
    processMs += performance.now() - spawned;
    // Masked before anything reads them: a cut made later (a message's length) must not split a secret.
    const stdout = ctx.redact(outcome.stdout);
    const stderr = ctx.redact(outcome.stderr);
    // A command that finished its work counts, even if Ctrl-C came meanwhile: its tag did move.
    if (outcome.exitCode === 0 && !outcome.spawnError && !outcome.terminated)
      return done({ ...(await policy.succeeded(task, stdout, ctx)), retries: attempt });
    // Stopped by the runner's idle timeout, not by Ctrl-C: a registry failure like any other, retried below.
    const stalled = outcome.stalled === true && !ctx.signal.aborted;
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- Ctrl-C may have come while the command ran
    if (!stalled && (outcome.terminated || ctx.signal.aborted)) {
      await policy.interrupted?.(task, ctx);
      return interrupted(attempt, `${stderr}\n${lastLines(stdout, 20)}`);
    }
    // The build host failed, not the command: never retried here (a fallback may take over).
    if (outcome.hostFailure)
      return done({ status: 'failed', retries: attempt, failure: redactFailure(outcome.hostFailure, ctx.redact) });
    if (outcome.spawnError)
      return done({
        status: 'failed',
        retries: attempt,
        failure: redactFailure(diagnoseSpawn(argv[0] ?? '', outcome.spawnError), ctx.redact),
      });

    const errorOutput = `${stderr}\n${lastLines(stdout, 20)}`;
    if (policy.failed && !stalled) return done({ ...(await policy.failed(task, errorOutput, ctx)), retries: attempt });
    const diagnosis = stalled
      ? stallDiagnosis(ctx.registryIdleMs)
      : diagnoseExit(outcome.exitCode, errorOutput, policy.attempt(task));
    const retriable = diagnosis.transient && (retry === 'registry' || diagnosis.failure.reason === 'storage-race');
    if (retriable && attempt < ctx.retry.retries) {
      const retryAfterMs = diagnosis.rateLimited ? await ctx.retryAfter?.(task, ctx.values) : undefined;
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

/** A build or smoke test stopped at its image's `timeout:`, with what it printed last (where it hung). */
function timeoutFailure(task: PlanTask, timeoutMs: number, errorOutput: string): TaskFailure {
  const what = task.kind === 'test' ? 'the smoke test' : 'the build';
  const output = rawOutput(errorOutput);
  return {
    reason: 'timeout',
    message: `${what} ran longer than its timeout of ${formatDuration(timeoutMs)}, so it was stopped with everything it started`,
    hint: `if it needs longer, raise the image's \`timeout:\` (or the spec's); if it hangs, fix the step it stopped in (its last output, with --verbose or in --report)`,
    ...(output.length > 0 && { output }),
  };
}

/** A registry operation that neither printed nor moved a byte for the idle timeout. */
function stallDiagnosis(idleMs: number): Diagnosis {
  return {
    failure: {
      reason: 'registry-unavailable',
      message: `no answer: nothing moved for ${formatDuration(idleMs)}, so it was stopped`,
      hint: 'the registry (or a proxy in front of it) accepted the connection and went silent; check it, or give slow links more time with --registry-timeout',
    },
    transient: true,
    rateLimited: false,
  };
}
