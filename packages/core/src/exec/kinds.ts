/**
 * What each kind of task means to the executor, in one table the compiler holds complete:
 * a new kind does not build until it has an entry here. Model: wireit's per-kind execution.
 */
import type { PlanTask, TaskKind, TaskOf } from '../plan/types.js';
import {
  builtList,
  cleanupFailed,
  publishedDigest,
  pushedDigest,
  removeTestContainer,
  resetFailed,
  succeeded,
  testOutput,
  verifiedList,
} from './outcomes.js';
import type { Attempt, TaskFailure } from './failure.js';
import type { Readable } from 'node:stream';
import type { TaskContext, TaskOutcome } from './task.js';
import { contextInput, passwordInput, secretInput } from './inputs.js';
import { findLocalBase } from './local-base.js';

export interface KindPolicy<K extends TaskKind> {
  /** Relative cost, for the longest-chain-first priority. */
  weight: number;
  /** Works its host's CPU and counts against the host's `jobs`; the rest (registry I/O) only against --jobs. */
  loadsHost: boolean;
  /**
   * registry: retried with backoff on 5xx, 429, resets and stalls, with an idle timeout.
   * never: only when podman lost an image to a storage race, never for what the command did.
   */
  retry: (task: TaskOf<K>) => 'registry' | 'never';
  /** Tasks with the same key never run at once. */
  exclusive?: (task: TaskOf<K>) => string | undefined;
  /** Not cut short by the first Ctrl-C (only the second): tags move whole or not at all. */
  finishesOnInterrupt: boolean;
  /** On a host already found down: a failure, or skipped as not this run's doing (per-run images went with the host). */
  onHostDown: 'fail' | 'skip';
  /** The references whose registries the task's command talks to (a build host gets credentials for those only). */
  registries: (task: TaskOf<K>) => readonly string[];
  /** What its command attempts, for the words of its failure (a 403 on a pull is not a 403 on a push). */
  attempt: (task: TaskOf<K>) => Attempt;
  /** Whether its status counts toward its image's outcome (cleanups are housekeeping). */
  countsForImage: boolean;
  /** What the command reads on stdin (a password, a context's tar stream, a secret), made for each attempt; or why it cannot be. */
  input?: (task: TaskOf<K>, ctx: TaskContext) => Promise<{ stdin: string | Readable } | { failure: TaskFailure }>;
  /** Before the command: what it needs found first (its run-time values); a failure stops the task. */
  prepare?: (task: TaskOf<K>, ctx: TaskContext) => Promise<TaskOutcome | undefined>;
  /** After the command succeeded: what it produced (a digest, a checked list, a test's verdict). */
  succeeded: (task: TaskOf<K>, stdout: string, ctx: TaskContext) => Promise<TaskOutcome>;
  /** After the command failed for good: what that means for this kind; without it, the failure stands. */
  failed?: (task: TaskOf<K>, errorOutput: string, ctx: TaskContext) => Promise<TaskOutcome>;
  /** After the command was stopped by an interrupt: what must go with it. */
  interrupted?: (task: TaskOf<K>, ctx: TaskContext) => Promise<void>;
}

const none = (): readonly string[] => [];
const other = (): Attempt => ({ op: 'other' });
const pushTo = (task: { repository: string }): Attempt => ({ op: 'push', reference: task.repository });
const registry = (): 'registry' => 'registry';
const never = (): 'never' => 'never';
const COMMON = { finishesOnInterrupt: false, onHostDown: 'fail', countsForImage: true } as const;
/** A cheap step that talks to no registry and is never retried: resets, lookups, uploads, secrets. */
const LOCAL_STEP = { ...COMMON, weight: 1, loadsHost: false, retry: never, registries: none, attempt: other } as const;

/** push and stage: a push to a registry that records the digest it wrote. */
function pushByDigest<K extends 'push' | 'stage'>(): KindPolicy<K> {
  return {
    ...COMMON,
    weight: 2,
    loadsHost: false,
    retry: registry,
    // TypeScript does not narrow TaskOf<K> for a K it only knows to be one of two.
    registries: (task) => [(task as TaskOf<'push' | 'stage'>).repository],
    attempt: pushTo,
    succeeded: pushedDigest,
  };
}

export const KINDS: { readonly [K in TaskKind]: KindPolicy<K> } = {
  // Logins on one host write one authfile: one at a time.
  login: {
    ...COMMON,
    weight: 1,
    loadsHost: false,
    retry: registry,
    registries: (task) => [task.server],
    attempt: (task) => ({ op: 'login', server: task.server }),
    exclusive: (task) => `authfile@${task.host}`,
    input: passwordInput,
    succeeded,
  },
  reset: {
    ...LOCAL_STEP,
    succeeded,
    failed: resetFailed,
  },
  // A lookup in local storage (and on a build host lacking the image, a transfer from here): no registry.
  'local-base': {
    ...LOCAL_STEP,
    prepare: findLocalBase,
    succeeded,
  },
  pull: {
    ...COMMON,
    weight: 1,
    loadsHost: false,
    retry: registry,
    registries: (task) => [task.source],
    attempt: (task) => ({ op: 'pull', reference: task.source }),
    succeeded,
  },
  // Its dependencies come from the spec's registries; the outside bases it pulls itself, from theirs.
  build: {
    ...COMMON,
    weight: 10,
    loadsHost: true,
    retry: never,
    registries: (task) => task.pulls ?? [],
    // What a build reaches a registry for is its bases: the reference is in podman's words.
    attempt: () => ({ op: 'build' }),
    succeeded: builtList,
  },
  push: pushByDigest(),
  // From the registry it is a registry read; from local storage it is not.
  assemble: {
    ...COMMON,
    weight: 1,
    loadsHost: false,
    retry: (task) => (task.repository === undefined ? 'never' : 'registry'),
    registries: (task) => (task.repository === undefined ? [] : [task.repository]),
    attempt: (task) => (task.repository === undefined ? { op: 'other' } : { op: 'pull', reference: task.repository }),
    succeeded,
  },
  test: {
    ...COMMON,
    weight: 3,
    loadsHost: true,
    retry: never,
    registries: none,
    attempt: other,
    succeeded: testOutput,
    interrupted: removeTestContainer,
  },
  // The whole list, to a staging tag: the same as one platform's push, to the kind table.
  stage: pushByDigest(),
  verify: {
    ...COMMON,
    weight: 1,
    loadsHost: false,
    retry: registry,
    registries: (task) => [task.repository],
    attempt: (task) => ({ op: 'inspect', reference: task.repository }),
    succeeded: verifiedList,
  },
  // Tag moves into one repository, side by side, made distribution 2.8 refuse a list now and then.
  publish: {
    ...COMMON,
    weight: 1,
    loadsHost: false,
    retry: registry,
    registries: (task) => [task.repository],
    exclusive: (task) => `publish@${task.repository}`,
    attempt: pushTo,
    finishesOnInterrupt: true,
    succeeded: publishedDigest,
  },
  cleanup: {
    ...COMMON,
    weight: 1,
    loadsHost: false,
    retry: never,
    registries: none,
    onHostDown: 'skip',
    countsForImage: false,
    attempt: other,
    succeeded,
    failed: cleanupFailed,
  },
  upload: {
    ...LOCAL_STEP,
    input: contextInput,
    succeeded,
  },
  // A build secret's value, written to a 0600 file on a build host: nothing to retry against.
  secret: {
    ...LOCAL_STEP,
    input: secretInput,
    succeeded,
  },
};

/** The entry for a task's own kind. (TypeScript cannot tie `KINDS[task.kind]` to `task` by itself.) */
export function policyOf<T extends PlanTask>(task: T): KindPolicy<T['kind']> {
  return KINDS[task.kind] as unknown as KindPolicy<T['kind']>;
}

/** The retry class of a task, as its kind decides it. */
export function retryClass(task: PlanTask): 'registry' | 'never' {
  return policyOf(task).retry(task);
}
