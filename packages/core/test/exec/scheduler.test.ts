import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { criticalPathPriority, schedule, type SchedulableTask, type TaskEnd } from '../../src/exec/scheduler.js';

const task = (
  id: string,
  dependsOn: string[] = [],
  extra: Partial<SchedulableTask> = {},
): SchedulableTask & { dependsOn: string[] } => ({ id, kind: 'build', image: 'a', host: 'local', ...extra, dependsOn });
const never = new AbortController().signal;
const tick = (ms = 1) => new Promise((r) => setTimeout(r, ms));

function recorder(fail: string[] = [], delayMs = 2) {
  const order: string[] = [];
  let running = 0;
  let peak = 0;
  const execute = async (t: SchedulableTask): Promise<TaskEnd> => {
    order.push(t.id);
    running++;
    peak = Math.max(peak, running);
    await tick(delayMs);
    running--;
    return fail.includes(t.id)
      ? { status: 'failed', failure: { reason: 'command-failed', message: 'boom' } }
      : { status: 'succeeded' };
  };
  return { order, execute, peak: () => peak };
}

describe('schedule', () => {
  it('runs dependencies first', async () => {
    const r = recorder();
    const { ends } = await schedule([task('a'), task('b', ['a']), task('c', ['b'])], r.execute, {
      jobs: 4,
      hostJobs: () => 4,
      keepGoing: false,
      interrupt: never,
    });
    expect(r.order).toEqual(['a', 'b', 'c']);
    expect([...ends.values()].every((e) => e.status === 'succeeded')).toBe(true);
  });

  it('never runs more than the global cap, and reaches it', async () => {
    const r = recorder();
    const tasks = Array.from({ length: 12 }, (_, i) => task(`t${i}`));
    const { peak } = await schedule(tasks, r.execute, {
      jobs: 3,
      hostJobs: () => 10,
      keepGoing: false,
      interrupt: never,
    });
    expect(r.peak()).toBe(3);
    expect(peak.total).toBe(3);
  });

  it('never runs more on a host than its jobs', async () => {
    const r = recorder();
    const tasks = [
      ...Array.from({ length: 6 }, (_, i) => task(`a${i}`, [], { host: 'arm' })),
      ...Array.from({ length: 6 }, (_, i) => task(`l${i}`)),
    ];
    const { peak } = await schedule(tasks, r.execute, {
      jobs: 10,
      hostJobs: (h) => (h === 'arm' ? 1 : 2),
      keepGoing: false,
      interrupt: never,
    });
    expect(peak.hosts).toEqual({ arm: 1, local: 2 });
    expect(peak.total).toBe(3);
  });

  it('counts only the tasks that load a host against its jobs', async () => {
    const r = recorder();
    const tasks = [
      ...Array.from({ length: 4 }, (_, i) => task(`b${i}`)),
      ...Array.from({ length: 4 }, (_, i) => task(`p${i}`, [], { kind: 'push' })),
    ];
    const { peak } = await schedule(tasks, r.execute, {
      jobs: 4,
      hostJobs: () => 1,
      keepGoing: false,
      interrupt: never,
      loadsHost: (t) => t.kind === 'build',
    });
    expect(peak.hosts['local']).toBe(1);
    expect(peak.total).toBe(4);
  });

  it('holds any cap on random DAGs, and every task ends exactly once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 25 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.nat(), { maxLength: 60 }),
        async (count, jobs, hostJobs, edges) => {
          const tasks = Array.from({ length: count }, (_, i) =>
            task(`t${i}`, [], { host: i % 2 === 0 ? 'local' : 'remote' }),
          );
          edges.forEach((e, k) => {
            const to = e % count;
            const from = (k * 7 + e) % count;
            if (from < to && !tasks[to]!.dependsOn.includes(`t${from}`)) tasks[to]!.dependsOn.push(`t${from}`);
          });
          const r = recorder([], 0);
          const { ends, peak } = await schedule(tasks, r.execute, {
            jobs,
            hostJobs: () => hostJobs,
            keepGoing: false,
            interrupt: never,
          });
          expect(ends.size).toBe(count);
          expect(peak.total).toBeLessThanOrEqual(jobs);
          for (const n of Object.values(peak.hosts)) expect(n).toBeLessThanOrEqual(hostJobs);
          for (const t of tasks)
            for (const d of t.dependsOn) expect(r.order.indexOf(d)).toBeLessThan(r.order.indexOf(t.id));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('skips dependents of a failure and stops starting new tasks without --keep-going', async () => {
    const r = recorder(['a']);
    const { ends } = await schedule(
      [task('a'), task('b', ['a']), task('c', [], { image: 'other' }), task('d', ['c'])],
      r.execute,
      { jobs: 1, hostJobs: () => 1, keepGoing: false, interrupt: never },
    );
    expect(ends.get('a')?.status).toBe('failed');
    expect(ends.get('b')?.failure?.reason).toBe('dependency-failed');
    expect(ends.get('c')?.failure?.reason).toBe('run-stopped');
    expect(r.order).toEqual(['a']);
  });

  it('goes on with independent tasks with --keep-going', async () => {
    const r = recorder(['a']);
    const { ends } = await schedule([task('a'), task('b', ['a']), task('c'), task('d', ['c'])], r.execute, {
      jobs: 1,
      hostJobs: () => 1,
      keepGoing: true,
      interrupt: never,
    });
    expect(ends.get('b')?.status).toBe('skipped');
    expect(ends.get('d')?.status).toBe('succeeded');
  });

  it('runs an `always` task after its dependencies failed, even when the run stopped', async () => {
    const r = recorder(['a']);
    const { ends } = await schedule(
      [task('a'), task('b', ['a']), task('clean', ['a', 'b'], { kind: 'cleanup', always: true })],
      r.execute,
      { jobs: 1, hostJobs: () => 1, keepGoing: false, interrupt: never },
    );
    expect(ends.get('clean')?.status).toBe('succeeded');
  });

  it('keeps tasks with one exclusive key apart', async () => {
    const r = recorder();
    const { peak } = await schedule([task('l1', [], { kind: 'login' }), task('l2', [], { kind: 'login' })], r.execute, {
      jobs: 4,
      hostJobs: () => 4,
      keepGoing: false,
      interrupt: never,
      exclusive: (t) => (t.kind === 'login' ? 'auth' : undefined),
    });
    expect(peak.total).toBe(1);
  });

  it('starts nothing new after an interrupt, except what must finish', async () => {
    const interrupt = new AbortController();
    const order: string[] = [];
    const execute = async (t: SchedulableTask): Promise<TaskEnd> => {
      order.push(t.id);
      if (t.id === 'p1') interrupt.abort();
      await tick(2);
      return { status: 'succeeded' };
    };
    const tasks = [task('p1', [], { kind: 'publish' }), task('p2', [], { kind: 'publish' }), task('x')];
    const { ends } = await schedule(tasks, execute, {
      jobs: 1,
      hostJobs: () => 1,
      keepGoing: false,
      interrupt: interrupt.signal,
      finishOnceBegun: (t, started) => t.kind === 'publish' && started.has('p1'),
    });
    expect(order).toEqual(['p1', 'p2']);
    expect(ends.get('x')?.failure?.reason).toBe('interrupted');
  });

  it('finishes a begun publish after another task failed, without --keep-going', async () => {
    const order: string[] = [];
    const execute = async (t: SchedulableTask): Promise<TaskEnd> => {
      order.push(t.id);
      await tick(t.id === 'p1' ? 5 : 1);
      return t.id === 'bad'
        ? { status: 'failed', failure: { reason: 'command-failed', message: 'boom' } }
        : { status: 'succeeded' };
    };
    const tasks = [
      task('p1', [], { kind: 'publish' }),
      task('bad'),
      task('p2', [], { kind: 'publish' }),
      task('other'),
    ];
    const { ends } = await schedule(tasks, execute, {
      jobs: 2,
      hostJobs: () => 2,
      keepGoing: false,
      interrupt: never,
      finishOnceBegun: (t, started) => t.kind === 'publish' && started.has('p1'),
    });
    expect(ends.get('p2')?.status).toBe('succeeded');
    expect(ends.get('other')?.failure?.reason).toBe('run-stopped');
  });

  it('starts the longest chain first', async () => {
    const tasks = [task('short'), task('long1'), task('long2', ['long1']), task('long3', ['long2'])];
    const r = recorder();
    await schedule(tasks, r.execute, {
      jobs: 1,
      hostJobs: () => 1,
      keepGoing: false,
      interrupt: never,
      priority: criticalPathPriority(tasks, () => 1),
    });
    expect(r.order[0]).toBe('long1');
  });
});
