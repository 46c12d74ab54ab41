/**
 * Base images under localhost/, as podman resolves them by hand: from containers-storage,
 * never from a registry. A `local-base` task finds its platform's instance (in a list, or a
 * single image of that platform) on its host; a build host that lacks it is sent this
 * machine's (podman save here, podman load there, as `podman image scp` does).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Diagnostic } from '../diagnostics.js';
import {
  imageExistsArgs,
  imagePlatformArgs,
  inspectListArgs,
  instanceIdArgs,
  listExistsArgs,
  loadImageArgs,
  saveImageArgs,
} from '../plan/commands.js';
import type { Plan, TaskOf } from '../plan/types.js';
import type { TaskFailure } from './failure.js';
import { lastLines, redactFailure } from './outcomes.js';
import type { ProcessOutcome, Runner } from './runner.js';
import type { TaskContext, TaskOutcome } from './task.js';

type Run = (argv: readonly string[], stdin?: Readable) => Promise<ProcessOutcome>;

interface ListEntry {
  digest?: string;
  platform?: { os?: string; architecture?: string; variant?: string };
}

/** The id of `platform`'s instance of `reference` in the storage `run` reaches, or that there is none, or why it cannot be used. */
export async function findInstance(
  run: Run,
  podman: string,
  reference: string,
  platform: string,
): Promise<{ id: string } | 'absent' | TaskFailure> {
  const [os, architecture, variant] = platform.split('/');
  const failed = (what: string, outcome: ProcessOutcome): TaskFailure => ({
    reason: 'command-failed',
    message: `cannot read ${reference} from local storage (${what}): ${lastLines(outcome.stderr.trim(), 1) || `exit ${outcome.exitCode}`}`,
  });
  const exists = await run(listExistsArgs(podman, reference));
  if (exists.exitCode === 1) return 'absent';
  if (exists.exitCode === 0) {
    const inspected = await run(inspectListArgs(podman, reference));
    if (inspected.exitCode !== 0) return failed('manifest inspect', inspected);
    let entries: ListEntry[];
    try {
      entries = (JSON.parse(inspected.stdout) as { manifests?: ListEntry[] }).manifests ?? [];
    } catch {
      return failed('manifest inspect printed no JSON', inspected);
    }
    const entry = entries.find(({ platform: p }) => {
      if (p === undefined) return false;
      return p.os === os && p.architecture === architecture && (variant === undefined || p.variant === variant);
    });
    if (entry?.digest === undefined) {
      const held = entries.map((e) => [e.platform?.os, e.platform?.architecture, e.platform?.variant].filter(Boolean));
      return {
        reason: 'image-not-found',
        message: `the local list ${reference} has no ${platform} image (it holds ${held.map((p) => p.join('/')).join(', ') || 'nothing'})`,
        hint: `add one: podman manifest add ${reference} containers-storage:IMAGE (an image built with --platform ${platform})`,
      };
    }
    const found = await run(instanceIdArgs(podman, reference, entry.digest));
    const id = found.stdout.trim();
    if (found.exitCode !== 0 || !/^[0-9a-f]{64}$/.test(id))
      return {
        reason: 'image-not-found',
        message: `the local list ${reference} names ${entry.digest} for ${platform}, but that image is not in local storage`,
        hint: `the list refers to an image that was removed: add it again with podman manifest add ${reference} ...`,
      };
    return { id };
  }
  if (exists.exitCode !== 125) return failed('manifest exists', exists);
  const single = await run(imagePlatformArgs(podman, reference));
  if (single.exitCode !== 0) return failed('image inspect', single);
  const [id = '', its = ''] = single.stdout.trim().split(' ');
  // A single image carries no variant: linux/arm64 and linux/arm64/v8 both take it.
  if (its !== `${os}/${architecture}`)
    return {
      reason: 'image-not-found',
      message: `the local image ${reference} is ${its}, not ${platform}`,
      hint: `build it for ${platform} too and make ${reference} a list of both (podman manifest create, podman manifest add)`,
    };
  return { id };
}

/**
 * Before a local-base task's command (`podman tag ID NAME`): the id it tags. On a build host
 * without the image, this machine's is sent first.
 */
export async function findLocalBase(task: TaskOf<'local-base'>, ctx: TaskContext): Promise<TaskOutcome | undefined> {
  const platform = task.platforms[0] ?? '';
  const on =
    (runner: Runner, cwd: string): Run =>
    (argv, stdin) =>
      runner.run(
        { argv, cwd, hideEnv: ctx.secretEnv, ...(stdin && { stdin }) },
        { signal: ctx.signal, onLine: (line, stream) => ctx.onLine(ctx.redact(line), stream) },
      );
  const fail = (failure: TaskFailure): TaskOutcome =>
    ctx.signal.aborted
      ? { status: 'interrupted', failure: { reason: 'interrupted', message: 'stopped by an interrupt' } }
      : { status: 'failed', failure: redactFailure(failure, ctx.redact) };
  let hostFailure: TaskFailure | undefined;
  const watched =
    (run: Run): Run =>
    async (argv, stdin) => {
      const outcome = await run(argv, stdin);
      hostFailure ??= outcome.hostFailure;
      return outcome;
    };
  const there = await findInstance(watched(on(ctx.runner, ctx.cwd)), task.podman, task.reference, platform);
  // The host, not the lookup, failed: a host failure, so that a fallback may take over.
  if (hostFailure) return { status: 'failed', failure: hostFailure };
  if (typeof there === 'object' && 'id' in there) return found(ctx, task, there.id);
  if (there !== 'absent') return fail(there);
  if (task.host === 'local') return fail(notHere(task.reference));
  const here = on(ctx.localRunner, ctx.specDir);
  const ours = await findInstance(here, 'podman', task.reference, platform);
  if (ours === 'absent')
    return fail({
      reason: 'image-not-found',
      message: `${task.reference} is neither in ${task.host}'s storage nor in this machine's`,
      hint: `build or load it on ${task.host} or here (localhost/ names are never pulled from a registry)`,
    });
  if (!('id' in ours)) return fail(ours);
  const dir = await mkdtemp(path.join(tmpdir(), 'orchestrate-send-'));
  try {
    const archive = path.join(dir, 'image.tar');
    const saved = await here(saveImageArgs('podman', ours.id, archive));
    if (saved.exitCode !== 0)
      return fail({
        reason: 'command-failed',
        message: `cannot save ${task.reference} here: ${lastLines(saved.stderr.trim(), 1)}`,
      });
    const loaded = await on(ctx.runner, ctx.cwd)(loadImageArgs(task.podman), createReadStream(archive));
    if (loaded.hostFailure) return fail(loaded.hostFailure);
    if (loaded.exitCode !== 0)
      return fail({
        reason: 'command-failed',
        message: `cannot load ${task.reference} on ${task.host}: ${lastLines(loaded.stderr.trim(), 1)}`,
      });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return found(ctx, task, ours.id);
}

/** Recorded for the task's `<image-id>`: nothing stops the command. */
function found(ctx: TaskContext, task: TaskOf<'local-base'>, id: string): TaskOutcome | undefined {
  ctx.values.imageIds.set(task.id, id);
  return undefined;
}

function notHere(reference: string): TaskFailure {
  return {
    reason: 'image-not-found',
    message: `${reference} is not in this machine's storage`,
    hint: 'build, load or tag it first (`podman images` lists local storage); localhost/ names are never pulled from a registry',
  };
}

/**
 * Before the run: every localhost/ base that is to be taken from this machine's storage is
 * there. (A build host's own storage is looked at when its task runs.)
 */
export async function checkLocalBases(plan: Plan, cwd: string, runner: Runner): Promise<Diagnostic[]> {
  const diagnostics: Diagnostic[] = [];
  const references = new Set(
    plan.tasks.flatMap((t) => (t.kind === 'local-base' && t.host === 'local' ? [t.reference] : [])),
  );
  for (const reference of references) {
    const outcome = await runner.run(
      { argv: imageExistsArgs('podman', reference), cwd },
      { signal: new AbortController().signal, onLine: () => {} },
    );
    // Only "not there" (exit 1 from podman itself) counts: a podman that is missing or broken is the pre-flight's to say.
    if (outcome.spawnError || outcome.exitCode !== 1) continue;
    const bases = new Set(
      plan.tasks.flatMap((t) => (t.kind === 'local-base' && t.reference === reference ? [t.id] : [])),
    );
    const images = [
      ...new Set(plan.tasks.flatMap((t) => (t.dependsOn.some((d) => bases.has(d)) && t.image ? [t.image] : []))),
    ];
    const problem = notHere(reference);
    diagnostics.push({
      severity: 'error',
      code: 'base-not-found',
      file: plan.spec,
      message: `${images.join(', ') || 'an image'} builds FROM ${problem.message}`,
      hint: problem.hint!,
    });
  }
  return diagnostics;
}
