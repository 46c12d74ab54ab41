import { describe, expect, it } from 'vitest';
import type { Plan } from '../../src/plan/types.js';
import { planOf } from '../helpers.js';
import { FakePodman } from './fake-podman.js';
import { FakeRunner } from './fake-runner.js';
import { execute } from './execute.js';

const SPEC = `version: 1
platforms: [linux/amd64, linux/arm64]
timeout: 1s
registries:
  reg: { url: "localhost:5000/acme" }
images:
  first:
    context: first
    test: { command: [uname, -m] }
  second:
    context: second
    strategy: per-arch
    test: { command: [uname, -m] }
`;

/** The spec's plan, its 1s timeouts made 100ms: the logic is the same, the tests quicker. */
function quickPlan(spec = SPEC): Plan {
  const plan = planOf(spec);
  return {
    ...plan,
    tasks: plan.tasks.map((t) => ('timeoutMs' in t && t.timeoutMs !== undefined ? { ...t, timeoutMs: 100 } : t)),
  };
}

/** The fake podman, with the commands `hangs` picks taking a minute (unless stopped). */
function hanging(podman: FakePodman, hangs: (argv: readonly string[]) => boolean): FakeRunner {
  return new FakeRunner((invocation, call) => {
    const answer = podman.script(invocation, call);
    return hangs(invocation.argv) ? { ...answer, delayMs: 60_000, stderr: 'STEP 2/3: RUN sleep 300\n' } : answer;
  });
}

const isBuildOf = (image: string) => (argv: readonly string[]) =>
  argv[1] === 'build' && argv.join(' ').includes(`/${image}`);

describe('timeout: of a build or smoke test', () => {
  it('stops a hung build with reason timeout and a hint; its image publishes nothing, the others go on (--keep-going)', async () => {
    const podman = new FakePodman();
    const started = performance.now();
    const { report } = await execute(quickPlan(), podman, {
      keepGoing: true,
      runner: hanging(podman, isBuildOf('first')),
    });
    expect(performance.now() - started).toBeLessThan(10_000);
    const build = report.tasks.find((t) => t.id === 'build:first')!;
    expect(build.status).toBe('failed');
    expect(build.failure).toMatchObject({
      reason: 'timeout',
      message: expect.stringContaining('the build ran longer than its timeout of 100ms'),
      hint: expect.stringContaining('`timeout:`'),
      // Where it hung: the last thing it printed.
      output: expect.arrayContaining(['STEP 2/3: RUN sleep 300']),
    });
    expect(report.status).toBe('failed');
    expect(report.images['first']?.status).toBe('failed');
    expect(report.images['second']?.status).toBe('published');
    expect([...podman.tags.keys()].some((tag) => tag.includes('/first:'))).toBe(false);
  });

  it('stops a hung smoke test and removes its container by name', async () => {
    const podman = new FakePodman();
    const runner = hanging(podman, (argv) => argv[1] === 'run' && /second.*amd64|amd64.*second/.test(argv.join(' ')));
    const { report } = await execute(quickPlan(), podman, { keepGoing: true, runner });
    const test = report.tasks.find((t) => t.id === 'test:second:linux/amd64')!;
    expect(test.failure).toMatchObject({ reason: 'timeout', message: expect.stringContaining('the smoke test') });
    const container = runner.invocations
      .map((i) => i.argv)
      .find((argv) => argv[1] === 'run' && argv.join(' ').includes('second') && argv.join(' ').includes('amd64'))!
      .find((word) => word.startsWith('--name='))!
      .slice('--name='.length);
    const removed = runner.invocations.map((i) => i.argv).filter((argv) => argv[1] === 'rm');
    expect(removed).toContainEqual(expect.arrayContaining([container]));
    expect(report.images['second']?.status).toBe('failed');
    expect(report.images['first']?.status).toBe('published');
  });

  it('leaves alone what ends in time, and what has no timeout', async () => {
    const podman = new FakePodman();
    // 50ms builds under a 100ms timeout; pushes and the like (no timeout) take longer than it.
    const runner = new FakeRunner((invocation, call) => ({
      ...podman.script(invocation, call),
      delayMs: ['build', 'run'].includes(invocation.argv[1]!) ? 50 : 150,
    }));
    const { report } = await execute(quickPlan(), podman, { runner });
    expect(report.tasks.filter((t) => t.failure)).toEqual([]);
    expect(report.status).toBe('succeeded');
  });
});

describe('build --timeout (the whole run)', () => {
  it('stops the run as Ctrl-C would, but reports timeout and fails', async () => {
    const podman = new FakePodman();
    const plan = planOf(SPEC.replace('timeout: 1s\n', ''));
    const { report, events } = await execute(plan, podman, {
      timeoutMs: 200,
      runner: hanging(podman, isBuildOf('first')),
    });
    expect(report.status).toBe('failed');
    const build = report.tasks.find((t) => t.id === 'build:first')!;
    expect(build).toMatchObject({
      status: 'failed',
      failure: { reason: 'timeout', message: 'stopped: the run took longer than its --timeout of 200ms' },
    });
    const publish = report.tasks.find((t) => t.kind === 'publish' && t.image === 'first')!;
    expect(publish).toMatchObject({ status: 'skipped', failure: { reason: 'timeout' } });
    expect(report.tasks.some((t) => t.failure?.reason === 'interrupted')).toBe(false);
    // The other image was done before the deadline: its tags moved; none of this one's.
    expect([...podman.tags.keys()].some((tag) => tag.includes('/first:'))).toBe(false);
    expect(events).toContainEqual({ type: 'notice', message: expect.stringContaining('--timeout of 200ms passed') });
  });

  it('a Ctrl-C before the run timeout is an interrupt, not a timeout', async () => {
    const podman = new FakePodman();
    const interrupt = new AbortController();
    const runner = new FakeRunner((invocation, call) => {
      if (invocation.argv[1] === 'build') setTimeout(() => interrupt.abort(), 5);
      return { ...podman.script(invocation, call), delayMs: invocation.argv[1] === 'build' ? 60_000 : 0 };
    });
    const { report } = await execute(planOf(SPEC), podman, { timeoutMs: 60_000, interrupt: interrupt.signal, runner });
    expect(report.status).toBe('interrupted');
    expect(report.tasks.some((t) => t.failure?.reason === 'timeout')).toBe(false);
  });
});
