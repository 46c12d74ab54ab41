/**
 * Runs after runs: a rebuild over last run's local list, registries that go silent, a run
 * that died and left its directory, two runs of one spec at once, an interrupt that came
 * after every tag moved. Against the in-memory podman, which behaves as podman 4.3 does
 * where it matters here (build --manifest appends; rmi cannot remove a list).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ownerStamp } from '../../src/exec/leftovers.js';
import { lockFile, lockListNames } from '../../src/exec/list-locks.js';
import { planOf } from '../helpers.js';
import { FakePodman } from './fake-podman.js';
import { FakeRunner, optionValue } from './fake-runner.js';
import { execute, scratchDir } from './execute.js';

const SPEC = `version: 1
platforms: [linux/amd64, linux/arm64]
registries:
  reg: { url: "localhost:5000/acme", auth: { username: ci, passwordEnv: REG_PASSWORD } }
images:
  first:
    context: first
    tags: [v1]
  second:
    context: second
    strategy: per-arch
    tags: [v1]
`;

describe('a rerun over the last run', () => {
  it('rebuilds into a fresh list: the stale one is removed, not appended to (both strategies)', async () => {
    const podman = new FakePodman();
    const first = await execute(planOf(SPEC), podman);
    expect(first.report.status).toBe('succeeded');
    const again = await execute(planOf(SPEC), podman);
    expect(again.report.status, JSON.stringify(again.report.tasks.filter((t) => t.failure))).toBe('succeeded');
    expect(podman.lists.get('localhost:5000/acme/first:v1')?.map((e) => e.platform)).toEqual([
      'linux/amd64',
      'linux/arm64',
    ]);
    expect(again.report.tasks.find((t) => t.id === 'reset:first')?.argv).toEqual([
      'podman',
      'manifest',
      'rm',
      '--',
      'localhost:5000/acme/first:v1',
    ]);
    expect(again.report.tasks.find((t) => t.id === 'reset:second')?.note).toBeUndefined();
  });

  it('says there was nothing to remove on the first run', async () => {
    const { report } = await execute(planOf(SPEC), new FakePodman());
    expect(report.tasks.find((t) => t.id === 'reset:first')?.note).toBe('nothing to remove');
  });

  it('removes a plain image under the list name with rmi when manifest rm refuses it (newer podman)', async () => {
    const podman = new FakePodman();
    podman.images.set('localhost:5000/acme/first:v1', 'linux/amd64');
    podman.fault = (argv) =>
      argv[1] === 'manifest' && argv[2] === 'rm' && podman.images.has(argv.at(-1)!)
        ? { exitCode: 1, stderr: `Error: ${argv.at(-1)}: image is not a manifest list\n` }
        : undefined;
    const { report, runner } = await execute(planOf(SPEC), podman);
    expect(report.tasks.find((t) => t.id === 'reset:first')).toMatchObject({
      status: 'succeeded',
      note: 'removed an image (not a list) of that name',
    });
    expect(runner.invocations.map((i) => i.argv.join(' '))).toContain('podman rmi -- localhost:5000/acme/first:v1');
    expect(report.status).toBe('succeeded');
  });

  it('fails loudly when the stale list cannot be removed for another reason, and builds nothing into it', async () => {
    const podman = new FakePodman();
    podman.fault = (argv) =>
      argv[1] === 'manifest' && argv[2] === 'rm' && argv.at(-1)!.includes('first')
        ? {
            exitCode: 125,
            stderr: 'Error: open /var/lib/containers/storage/overlay-images/images.lock: permission denied\n',
          }
        : undefined;
    const { report, runner } = await execute(planOf(SPEC), podman, { keepGoing: true });
    const reset = report.tasks.find((t) => t.id === 'reset:first')!;
    expect(reset.status).toBe('failed');
    expect(reset.failure?.message).toContain('cannot remove the stale local list');
    expect(reset.failure?.message).toContain('permission denied');
    expect(
      runner.invocations.some((i) => i.argv[1] === 'build' && optionValue(i.argv, '--manifest') !== undefined),
    ).toBe(false);
    expect(report.images['second']?.status).toBe('published');
  });
});

describe('a registry that goes silent', () => {
  it('retries an operation the runner stopped as stalled, then succeeds', async () => {
    const podman = new FakePodman();
    let stalls = 2;
    const honest = podman.script;
    podman.fault = () => undefined;
    const { report, events } = await execute(planOf(SPEC), podman, {
      runner: new FakeRunner((invocation, call) =>
        invocation.argv[0] === 'skopeo' && invocation.argv[1] === 'inspect' && stalls-- > 0
          ? { stalled: true }
          : honest(invocation, call),
      ),
      registryIdleMs: 3_000,
    });
    expect(report.status).toBe('succeeded');
    const retries = events.filter((e) => e.type === 'task-retry');
    expect(retries).toHaveLength(2);
    expect(retries[0]).toMatchObject({
      failure: { reason: 'registry-unavailable', message: 'no answer: nothing moved for 3s, so it was stopped' },
    });
  });

  it('gives up after the retries with a clear reason', async () => {
    const podman = new FakePodman();
    const honest = podman.script;
    const { report } = await execute(planOf(SPEC), podman, {
      runner: new FakeRunner((invocation, call) =>
        invocation.argv[0] === 'podman' && invocation.argv[1] === 'manifest' && invocation.argv[2] === 'push'
          ? { stalled: true }
          : honest(invocation, call),
      ),
      keepGoing: true,
    });
    const stage = report.tasks.find((t) => t.id === 'stage:first@reg')!;
    expect(stage).toMatchObject({ status: 'failed', retries: 3, failure: { reason: 'registry-unavailable' } });
    expect(stage.failure?.message).toBe('no answer: nothing moved for 5m, so it was stopped (after 3 retries)');
    expect(podman.tags.size).toBe(0);
  });
});

describe('leftovers of a run that died', () => {
  it('removes the directory (and authfile) of a dead run at start, and says so; a live run and a foreign one are left', async () => {
    const tmpDir = scratchDir();
    const dead = path.join(tmpDir, 'orchestrate-run-dead');
    const live = path.join(tmpDir, 'orchestrate-run-live');
    const unknown = path.join(tmpDir, 'orchestrate-run-fresh-unstamped');
    for (const dir of [dead, live, unknown]) mkdirSync(dir);
    writeFileSync(path.join(dead, 'auth.json'), '{"auths":{"r":{"auth":"c2VjcmV0"}}}');
    // pid 2^22 + 1 is above Linux's pid_max: no process has it.
    writeFileSync(path.join(dead, 'owner'), ownerStamp(process.pid).replace(/ \d+ /, ` ${2 ** 22 + 1} `));
    writeFileSync(path.join(live, 'owner'), ownerStamp(process.pid));
    const { report, events } = await execute(planOf(SPEC), new FakePodman(), { tmpDir });
    expect(readdirSync(tmpDir).sort()).toEqual(['locks', 'orchestrate-run-fresh-unstamped', 'orchestrate-run-live']);
    expect(report.notices?.[0]).toContain(
      `removed the directory of a run that died before its cleanup (with its authfile): ${dead}`,
    );
    expect(events.some((e) => e.type === 'notice')).toBe(true);
  });
});

describe('two runs of one spec on one machine', () => {
  it('the second waits for the first (it says for whom), and both publish lists that hold their own builds', async () => {
    const podman = new FakePodman();
    const tmpDir = scratchDir();
    const honest = podman.script;
    let building = 0;
    let overlapped = false;
    const slowBuilds = (): FakeRunner =>
      new FakeRunner((invocation, call) => {
        if (invocation.argv[1] === 'build' && optionValue(invocation.argv, '--manifest') !== undefined) {
          building++;
          if (building > 1) overlapped = true;
          setTimeout(() => building--, 40);
          return { ...honest(invocation, call), delayMs: 40 };
        }
        return honest(invocation, call);
      });
    const [a, b] = await Promise.all([
      execute(planOf(SPEC), podman, { tmpDir, runner: slowBuilds() }),
      new Promise((r) => setTimeout(r, 5)).then(() => execute(planOf(SPEC), podman, { tmpDir, runner: slowBuilds() })),
    ]);
    expect(a.report.status, JSON.stringify(a.report.tasks.filter((t) => t.failure))).toBe('succeeded');
    expect(b.report.status, JSON.stringify(b.report.tasks.filter((t) => t.failure))).toBe('succeeded');
    expect(overlapped).toBe(false);
    expect(
      b.report.notices?.some(
        (n) =>
          n.startsWith(`waiting for run ${a.report.runId} of `) &&
          n.endsWith('it builds the local list localhost:5000/acme/first:v1 too'),
      ),
    ).toBe(true);
  });

  it('takes over a lock whose run died, and waits on a live one until it is released', async () => {
    const dir = scratchDir();
    const never = new AbortController().signal;
    const waited: string[] = [];
    const first = await lockListNames(dir, ['b', 'a'], 'run one', never, (name) => waited.push(name));
    let secondHeld = false;
    const second = lockListNames(dir, ['a'], 'run two', never, (name, holder) => waited.push(`${name} ${holder}`)).then(
      (locks) => ((secondHeld = true), locks),
    );
    await new Promise((r) => setTimeout(r, 600));
    expect(secondHeld).toBe(false);
    expect(waited).toEqual([`a run one (pid ${process.pid})`]);
    await first!.release();
    await (await second)!.release();
    expect(secondHeld).toBe(true);
    // A lock file left by a process that is gone: taken over at once, and the file is the new run's.
    const deadStamp = ownerStamp().replace(/ \d+ /, ` ${2 ** 22 + 1} `);
    writeFileSync(lockFile(dir, 'a'), `${deadStamp}\nrun dead\na\n`);
    const third = await lockListNames(dir, ['a', 'b'], 'run three', never, () => waited.push('unexpected'));
    expect(waited).not.toContain('unexpected');
    expect(readFileSync(lockFile(dir, 'a'), 'utf8')).toBe(`${ownerStamp()}\nrun three\na\n`);
    await third!.release();
  });
});

describe('an interrupt after the publish began', () => {
  it('finishes the publish and says that every tag moved (still exit 130: the run was interrupted)', async () => {
    const podman = new FakePodman();
    const interrupt = new AbortController();
    const honest = podman.script;
    const runner = new FakeRunner((invocation, call) => {
      if (invocation.argv[0] === 'skopeo' && invocation.argv[1] === 'copy' && invocation.argv.includes('--all')) {
        interrupt.abort();
        return { ...honest(invocation, call), delayMs: 20 };
      }
      return honest(invocation, call);
    });
    const { report } = await execute(planOf(SPEC.replace(/  second:[\s\S]*$/, '')), podman, {
      runner,
      interrupt: interrupt.signal,
    });
    expect(report.status).toBe('interrupted');
    expect(report.images['first']?.status).toBe('published');
    expect(report.notices).toContain('interrupted, but only after every image was published: all tags moved');
  });
});

describe('the same builds, the same list', () => {
  it('puts a manifest-first list in platform order whatever order podman built it in, so its digest depends on its content', async () => {
    const podman = new FakePodman();
    const { report, runner } = await execute(
      planOf(
        SPEC.replace('platforms: [linux/amd64, linux/arm64]', 'platforms: [linux/s390x, linux/amd64, linux/arm64]'),
      ),
      podman,
    );
    expect(report.status).toBe('succeeded');
    expect(podman.lists.get('localhost:5000/acme/first:v1')?.map((e) => e.platform)).toEqual([
      'linux/amd64',
      'linux/arm64',
      'linux/s390x',
    ]);
    expect(report.tasks.find((t) => t.id === 'build:first')?.note).toBe('list entries put in platform order');
    expect(
      runner.invocations.some((i) =>
        i.argv.join(' ').startsWith('podman manifest add -- localhost:5000/acme/first:v1 containers-storage:@'),
      ),
    ).toBe(true);
    // per-arch: the list is assembled in platform order, not in the order the spec names them.
    expect(podman.lists.get('localhost:5000/acme/second:v1')?.map((e) => e.platform)).toEqual([
      'linux/amd64',
      'linux/arm64',
      'linux/s390x',
    ]);
  });

  it('leaves the list in build order, and says so, when an instance cannot be found by its digest (the list stays whole)', async () => {
    const podman = new FakePodman();
    podman.fault = (argv) =>
      argv[1] === 'image' && argv[2] === 'inspect' ? { exitCode: 125, stderr: 'Error: image not known\n' } : undefined;
    const { report } = await execute(planOf(SPEC), podman);
    expect(report.status).toBe('succeeded');
    expect(report.tasks.find((t) => t.id === 'build:first')?.note).toMatch(
      /^list left in build order: no local image found for sha256:/,
    );
    expect(podman.lists.get('localhost:5000/acme/first:v1')).toHaveLength(2);
  });
});
