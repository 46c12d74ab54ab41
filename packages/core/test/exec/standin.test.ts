import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TaskFailure } from '../../src/exec/failure.js';
import { fallbackGate, isHostFault } from '../../src/exec/fallback.js';
import {
  schedule,
  type SchedulableTask,
  type ScheduleOptions,
  type ScheduleResult,
  type TaskEnd,
} from '../../src/exec/scheduler.js';

/**
 * Stand-ins in the scheduler, with fake tasks: a remote chain build -> test -> push on host
 * "arm", its local @fallback chain gated on that host failing, and an `assemble` that names
 * the remote push (as the planner's list assembly does).
 */

const never = new AbortController().signal;
const tick = (ms = 1) => new Promise((r) => setTimeout(r, ms));
const task = (id: string, dependsOn: string[] = [], extra: Partial<SchedulableTask> = {}): SchedulableTask => ({
  id,
  kind: 'build',
  image: 'app',
  host: 'local',
  dependsOn,
  ...extra,
});

const CHAIN = ['build', 'test', 'push'];
const standIn = (primary: string) => ({ standIn: { host: 'arm', for: primary, after: [...CHAIN] } });

function tasks(extra: SchedulableTask[] = []): SchedulableTask[] {
  return [
    task('build', [], { host: 'arm' }),
    task('test', ['build'], { host: 'arm', kind: 'test' }),
    task('push', ['build'], { host: 'arm', kind: 'push' }),
    task('build@fallback', [], standIn('build')),
    task('test@fallback', ['build@fallback'], { kind: 'test', ...standIn('test') }),
    task('push@fallback', ['build@fallback'], { kind: 'push', ...standIn('push') }),
    task('assemble', ['push'], { kind: 'assemble' }),
    ...extra,
  ];
}

type Outcome = 'ok' | TaskFailure['reason'];

/**
 * Executes fake tasks the way run.ts does around them: a host fault marks the host down
 * (runOnHost), the gate is fallbackGate over that, a host fault on a host with
 * `fallback: emulate` is recoverable.
 */
function harness(outcomes: Record<string, Outcome> = {}, delayMs: (id: string) => number = () => 2) {
  const down = new Map<string, TaskFailure>();
  const order: string[] = [];
  const finished: string[] = [];
  const gated: string[] = [];
  const replaced: [string, string][] = [];
  /** start:ID, end:ID and gate:ID, in the order they happened. */
  const log: string[] = [];
  const execute = async (t: SchedulableTask): Promise<TaskEnd> => {
    order.push(t.id);
    log.push(`start:${t.id}`);
    await tick(delayMs(t.id));
    finished.push(t.id);
    log.push(`end:${t.id}`);
    const outcome = outcomes[t.id] ?? 'ok';
    if (outcome === 'ok') return { status: 'succeeded' };
    const failure: TaskFailure = { reason: outcome, message: `${t.id}: ${outcome}` };
    if (isHostFault(failure)) down.set(t.host, failure);
    return { status: 'failed', failure };
  };
  const options = (keepGoing = false): ScheduleOptions<SchedulableTask> => ({
    jobs: 4,
    hostJobs: () => 2,
    keepGoing,
    interrupt: never,
    gate: (t, ends) => {
      gated.push(t.id);
      log.push(`gate:${t.id}`);
      return fallbackGate(t, ends, down);
    },
    recoverable: (t, end) => isHostFault(end.failure) && t.host === 'arm',
    onReplaced: (was, by) => replaced.push([was.id, by.id]),
  });
  return { down, order, finished, gated, replaced, log, execute, options };
}

/** Rejects instead of hanging: a scheduler that deadlocks fails the test, it does not time it out. */
function within<T>(promise: Promise<T>, ms = 5_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`schedule did not resolve within ${ms} ms (deadlock)`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const statuses = (result: ScheduleResult): Record<string, string> =>
  Object.fromEntries([...result.ends].map(([id, end]) => [id, end.status]));

describe('schedule with stand-ins', () => {
  it('(a) the host fails: the stand-ins run, the remote chain ends replaced, assemble goes on after the fallback push', async () => {
    const h = harness({ build: 'host-unreachable' });
    const result = await within(schedule(tasks(), h.execute, h.options()));
    expect(statuses(result)).toEqual({
      build: 'replaced',
      test: 'replaced',
      push: 'replaced',
      'build@fallback': 'succeeded',
      'test@fallback': 'succeeded',
      'push@fallback': 'succeeded',
      assemble: 'succeeded',
    });
    // The replaced build keeps what happened to it; the ones never run keep why.
    expect(result.ends.get('build')?.failure?.reason).toBe('host-unreachable');
    expect(result.ends.get('push')?.failure?.reason).toBe('dependency-failed');
    // Nothing on arm ran after its build failed; the fallback chain ran in order.
    expect(h.order.filter((id) => ['test', 'push'].includes(id))).toEqual([]);
    expect(h.order.indexOf('build@fallback')).toBeLessThan(h.order.indexOf('test@fallback'));
    expect(h.order.indexOf('build@fallback')).toBeLessThan(h.order.indexOf('push@fallback'));
    // assemble waited for the stand-in of the push it names, not just for the push to end.
    expect(h.finished.indexOf('push@fallback')).toBeGreaterThanOrEqual(0);
    expect(h.order.indexOf('assemble')).toBeGreaterThan(h.finished.indexOf('push@fallback'));
    expect(h.finished.indexOf('push@fallback')).toBeLessThan(h.order.indexOf('assemble'));
    expect(h.replaced).toEqual(
      expect.arrayContaining([
        ['build', 'build@fallback'],
        ['test', 'test@fallback'],
        ['push', 'push@fallback'],
      ]),
    );
    expect(h.replaced).toHaveLength(3);
  });

  it('(a) a stand-in is not gated before the whole remote chain has ended', async () => {
    // The push on arm is slow; the host is lost during the test.
    const h = harness({ test: 'host-lost' }, (id) => (id === 'push' ? 40 : 2));
    const result = await within(schedule(tasks(), h.execute, h.options()));
    // The stand-in was asked only once all of build, test and push had ended, then ran.
    const at = (event: string) => h.log.indexOf(event);
    const firstGate = h.log.findIndex((e) => e.startsWith('gate:'));
    expect(firstGate).toBeGreaterThanOrEqual(0);
    for (const id of CHAIN) expect(at(`end:${id}`), id).toBeGreaterThanOrEqual(0);
    for (const id of CHAIN) expect(at(`end:${id}`), id).toBeLessThan(firstGate);
    expect(at('gate:build@fallback')).toBeLessThan(at('start:build@fallback'));
    // What had succeeded on arm stays succeeded; only the failed test is replaced.
    expect(statuses(result)).toMatchObject({
      build: 'succeeded',
      test: 'replaced',
      push: 'succeeded',
      'test@fallback': 'succeeded',
      assemble: 'succeeded',
    });
    expect(h.replaced).toEqual([['test', 'test@fallback']]);
  });

  it('(b) the host is fine: stand-ins are not needed and never run; assemble runs after the remote push', async () => {
    const h = harness();
    const result = await within(schedule(tasks(), h.execute, h.options()));
    expect(statuses(result)).toEqual({
      build: 'succeeded',
      test: 'succeeded',
      push: 'succeeded',
      'build@fallback': 'not-needed',
      'test@fallback': 'not-needed',
      'push@fallback': 'not-needed',
      assemble: 'succeeded',
    });
    expect(h.order.filter((id) => id.endsWith('@fallback'))).toEqual([]);
    expect(h.order.indexOf('assemble')).toBeGreaterThan(h.finished.indexOf('push'));
    // Only the head of the fallback chain is gated: the rest follow it, not needed either.
    expect(h.gated).toEqual(['build@fallback']);
    expect(result.ends.get('test@fallback')?.failure).toBeUndefined();
    expect(h.replaced).toEqual([]);
  });

  it('(c) a command failure on the host is not fallen back from: assemble is skipped and the run stops', async () => {
    // jobs 1: `other` is still pending when the build fails.
    const h = harness({ build: 'command-failed' });
    const all = tasks([
      task('other', [], { image: 'other' }),
      task('other-push', ['other'], { image: 'other', kind: 'push' }),
    ]);
    const result = await within(schedule(all, h.execute, { ...h.options(false), jobs: 1 }));
    expect(result.ends.get('build')).toMatchObject({ status: 'failed', failure: { reason: 'command-failed' } });
    expect(result.ends.get('assemble')).toMatchObject({ status: 'skipped', failure: { reason: 'dependency-failed' } });
    expect(result.ends.get('test')?.failure?.reason).toBe('dependency-failed');
    expect(result.ends.get('push')?.failure?.reason).toBe('dependency-failed');
    expect(result.ends.get('other')).toMatchObject({ status: 'skipped', failure: { reason: 'run-stopped' } });
    expect(result.ends.get('other-push')?.status).toBe('skipped');
    // The host did not fail: nothing stood in, and nothing but the failed build ran.
    expect(h.down.size).toBe(0);
    expect(h.order).toEqual(['build']);
    for (const id of ['build@fallback', 'test@fallback', 'push@fallback'])
      expect(['not-needed', 'skipped']).toContain(result.ends.get(id)?.status);
    expect(h.replaced).toEqual([]);
    expect(result.ends.size).toBe(all.length);
  });

  it('(c) with --keep-going the gate says not needed, assemble is skipped, and unrelated work goes on', async () => {
    const h = harness({ build: 'command-failed' });
    const all = tasks([
      task('other', [], { image: 'other' }),
      task('other-push', ['other'], { image: 'other', kind: 'push' }),
    ]);
    const result = await within(schedule(all, h.execute, { ...h.options(true), jobs: 1 }));
    expect(h.gated).toEqual(['build@fallback']);
    expect(statuses(result)).toEqual({
      build: 'failed',
      test: 'skipped',
      push: 'skipped',
      'build@fallback': 'not-needed',
      'test@fallback': 'not-needed',
      'push@fallback': 'not-needed',
      assemble: 'skipped',
      other: 'succeeded',
      'other-push': 'succeeded',
    });
    expect(result.ends.get('assemble')?.failure?.reason).toBe('dependency-failed');
  });

  it('(c) a host fault the gate will not stand in for stops the run once the gate has said so', async () => {
    // The failure is recoverable (a host fault), so the run goes on until the gate decides; it says not needed.
    const h = harness({ build: 'host-unreachable' }, (id) => (id === 'slow' ? 30 : 2));
    const all = tasks([task('slow', [], { image: 'other' }), task('after-slow', ['slow'], { image: 'other' })]);
    const options = { ...h.options(false), gate: (): TaskEnd => ({ status: 'not-needed' }) };
    const result = await within(schedule(all, h.execute, options));
    expect(result.ends.get('build')?.status).toBe('failed');
    expect(result.ends.get('build@fallback')?.status).toBe('not-needed');
    expect(result.ends.get('assemble')).toMatchObject({ status: 'skipped', failure: { reason: 'dependency-failed' } });
    // `slow` had started before the failure and finishes; what would start after it does not.
    expect(result.ends.get('slow')?.status).toBe('succeeded');
    expect(result.ends.get('after-slow')).toMatchObject({ status: 'skipped', failure: { reason: 'run-stopped' } });
    expect(h.order.filter((id) => id.endsWith('@fallback'))).toEqual([]);
  });

  it('(d) never deadlocks: every task ends exactly once, stand-ins run only for a fallen host, and nothing runs on a dependency that is not done', async () => {
    const outcome = fc.constantFrom<Outcome>('ok', 'ok', 'host-unreachable', 'host-lost', 'command-failed');
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          build: outcome,
          test: outcome,
          push: outcome,
          'build@fallback': outcome,
          'test@fallback': outcome,
          'push@fallback': outcome,
          assemble: outcome,
        }),
        fc.boolean(),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 8, maxLength: 8 }),
        async (outcomes, keepGoing, jobs, delays) => {
          const all = tasks([task('other', [], { image: 'other' })]);
          const ids = all.map((t) => t.id);
          const h = harness(outcomes, (id) => delays[ids.indexOf(id)] ?? 0);
          const mine = new Map<string, string>();
          // Collected, not thrown: the scheduler turns a throwing execute into a failed task.
          const early: string[] = [];
          const execute = async (t: SchedulableTask): Promise<TaskEnd> => {
            // Every dependency is done: succeeded, or its stand-in succeeded.
            for (const dep of t.dependsOn) {
              const by = all.find((x) => x.standIn?.for === dep);
              const done = mine.get(dep) === 'succeeded' || (by !== undefined && mine.get(by.id) === 'succeeded');
              if (!done) early.push(`${t.id} started before ${dep} was done`);
            }
            const end = await h.execute(t);
            mine.set(t.id, end.status);
            return end;
          };
          const result = await within(schedule(all, execute, { ...h.options(keepGoing), jobs }), 3_000);
          expect(early).toEqual([]);
          expect([...result.ends.keys()].sort()).toEqual([...ids].sort());
          expect(new Set(h.order).size).toBe(h.order.length);
          if (!h.down.has('arm')) expect(h.order.filter((id) => id.endsWith('@fallback'))).toEqual([]);
          // A remote task is replaced only by a stand-in that succeeded.
          for (const id of CHAIN) {
            if (result.ends.get(id)?.status === 'replaced') expect(mine.get(`${id}@fallback`)).toBe('succeeded');
          }
          // With the remote chain all fine, the fallbacks are simply not needed.
          // (Unless the run stopped first: without --keep-going, a failure elsewhere skips what has not started.)
          if (CHAIN.every((id) => outcomes[id as keyof typeof outcomes] === 'ok')) {
            const stopped = !keepGoing && [...result.ends.values()].some((e) => e.status === 'failed');
            for (const id of CHAIN) {
              const end = result.ends.get(`${id}@fallback`);
              if (stopped && end?.status === 'skipped')
                expect(['run-stopped', 'dependency-failed']).toContain(end.failure?.reason);
              else expect(end?.status).toBe('not-needed');
            }
            expect(result.ends.get('assemble')?.status).toBe(outcomes.assemble === 'ok' ? 'succeeded' : 'failed');
          }
          // A host fault in the chain, and a fallback chain that works: the assemble that names the remote push still happens.
          const fault = CHAIN.some((id) =>
            isHostFault({ reason: outcomes[id as keyof typeof outcomes] as TaskFailure['reason'], message: '' }),
          );
          const clean = CHAIN.every((id) => outcomes[id as keyof typeof outcomes] !== 'command-failed');
          const fallbackWorks = CHAIN.every((id) => outcomes[`${id}@fallback` as keyof typeof outcomes] === 'ok');
          if (fault && clean && fallbackWorks && outcomes.assemble === 'ok')
            expect(result.ends.get('assemble')?.status).toBe('succeeded');
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('fallbackGate', () => {
  const standIn = { standIn: { host: 'arm', for: 'build', after: ['build', 'test', 'push'] } };
  const down = new Map([['arm', { reason: 'host-lost' as const, message: 'lost' }]]);
  const ends = (build: TaskEnd): Map<string, TaskEnd> =>
    new Map<string, TaskEnd>([
      ['build', build],
      ['test', { status: 'skipped', failure: { reason: 'dependency-failed', message: 'not run' } }],
      ['push', { status: 'skipped', failure: { reason: 'dependency-failed', message: 'not run' } }],
    ]);

  it('runs the stand-in when the chain failed through its host', () => {
    expect(
      fallbackGate(standIn, ends({ status: 'failed', failure: { reason: 'host-lost', message: 'lost' } }), down),
    ).toBeUndefined();
  });

  it('does not rebuild here a chain that failed on its own, even with its host down meanwhile', () => {
    expect(
      fallbackGate(
        standIn,
        ends({ status: 'failed', failure: { reason: 'command-failed', message: 'RUN exit 1' } }),
        down,
      ),
    ).toEqual({ status: 'not-needed' });
  });

  it('is not needed while the host is up', () => {
    expect(
      fallbackGate(standIn, ends({ status: 'failed', failure: { reason: 'host-lost', message: 'lost' } }), new Map()),
    ).toEqual({ status: 'not-needed' });
  });
});
