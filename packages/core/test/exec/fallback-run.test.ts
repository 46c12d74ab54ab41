import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { executePlan, type RunEvent } from '../../src/exec/run.js';
import type { Invocation, ProcessOutcome } from '../../src/exec/runner.js';
import { RUN_DIRS_MARKER, SHELL_PROBE } from '../../src/exec/ssh.js';
import type { Plan } from '../../src/plan/types.js';
import { planOf as planSpec } from '../helpers.js';
import { FakePodman } from './fake-podman.js';
import { FakeRunner, optionValue, type Script } from './fake-runner.js';

/**
 * The executor with a build host over ssh. executePlan makes an SshRunner for the host, which
 * spawns `ssh` through the given runner: the fake answers ssh itself (the master, the sessions
 * through it) and hands the commands run here, and those run there, to FakePodman.
 */

const SECRET = 's3cr3t-Pa55word';

const SPEC = `version: 1
platforms: [linux/amd64, linux/arm64]
strategy: per-arch
registries:
  reg: { url: "localhost:5000/acme", auth: { username: ci, passwordEnv: REG_PASSWORD } }
hosts:
  arm: { ssh: "ci@arm.example.com:22", platforms: [linux/arm64], fallback: emulate }
images:
  app:
    context: app
    tags: [v1]
    test: { command: [uname, -m], expect: { linux/amd64: x86_64, linux/arm64: aarch64 } }
`;

const planOf = (spec = SPEC): Plan => planSpec(spec);

const made: string[] = [];
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'orchestrate-fallback-'));
  made.push(dir);
  return dir;
}

const isSsh = (argv: readonly string[]): boolean => argv[0] === 'ssh';
const option = (argv: readonly string[], name: string): boolean =>
  argv.some((a, i) => a === '-o' && argv[i + 1] === name);
const isMaster = (argv: readonly string[]): boolean =>
  isSsh(argv) && argv.includes('-f') && argv.includes('-N') && option(argv, 'ControlMaster=yes');
const isSession = (argv: readonly string[]): boolean => isSsh(argv) && option(argv, 'ControlMaster=no');
const isClose = (argv: readonly string[]): boolean => isSsh(argv) && argv[argv.indexOf('-O') + 1] === 'exit';
/** `ssh -O check` and the like: asking the master about itself (it is alive). */
const isControl = (argv: readonly string[]): boolean => isSsh(argv) && argv.includes('-O');

/** The words a remote `cd -- DIR && echo $$ > FILE && exec WORDS` runs, as a real sh reads them. */
function execWords(remote: string): string[] | undefined {
  const at = remote.indexOf(' && exec ');
  if (at < 0) return undefined;
  const words = remote.slice(at + ' && exec '.length);
  return execFileSync('sh', ['-c', `printf '%s\\0' ${words}`], { encoding: 'utf8' })
    .split('\0')
    .slice(0, -1);
}

interface Remote {
  /** The master's answer. */
  master?: Partial<ProcessOutcome>;
  /**
   * A remote command's answer, instead of FakePodman's. An exit 255's stderr is taken for
   * ssh's own message (it goes to ssh's -E log), unless `own`: the command's own stderr.
   */
  fault?: (words: readonly string[]) => (ReturnType<Script> & { own?: boolean }) | undefined;
  /** The answer to reading a file on the host (a digest), instead of what the remote push wrote. */
  read?: (file: string) => Partial<ProcessOutcome> | undefined;
  /** The answer to the run directory's setup, instead of a POSIX shell's. */
  setup?: Partial<ProcessOutcome>;
}

/** A digest the remote push "wrote" on the host, read back through an ssh `cat`. */
const REMOTE_DIGEST = `sha256:${'a1'.repeat(32)}`;

async function run(plan: Plan, remote: Remote, keepGoing = false) {
  const podman = new FakePodman();
  const ssh: Invocation[] = [];
  const remoteRuns: { words: string[]; stdin?: Invocation['stdin'] }[] = [];
  const remoteFiles = new Map<string, string>();
  const uploads: Promise<Buffer>[] = [];
  const runner = new FakeRunner((invocation, call) => {
    const argv = invocation.argv;
    if (!isSsh(argv)) return podman.script(invocation, call);
    ssh.push(invocation);
    if (isMaster(argv)) return remote.master ?? {};
    if (isControl(argv)) return {};
    expect(isSession(argv)).toBe(true);
    // Like ssh with -E: its own messages (exit 255) go to the log file, not to stderr.
    const { own, ...answer } = session(invocation, call);
    const log = argv[argv.indexOf('-E') + 1];
    if (!own && answer.exitCode === 255 && answer.stderr !== undefined && argv.includes('-E') && log !== undefined) {
      writeFileSync(log, answer.stderr);
      return { ...answer, stderr: '' };
    }
    return answer;
  });
  const session = (invocation: Invocation, call: number): ReturnType<Script> & { own?: boolean } => {
    const argv = invocation.argv;
    const command = argv.at(-1)!;
    const words = execWords(command);
    if (words === undefined) {
      // One of the runner's own commands: setup, reading a digest, removing the run's directory.
      const read = /&& cat -- (\S+)$/.exec(command);
      const answer = read && remote.read?.(read[1]!);
      if (answer) return answer;
      if (read)
        return remoteFiles.has(read[1]!)
          ? { stdout: remoteFiles.get(read[1]!)! }
          : { exitCode: 1, stderr: `cat: ${read[1]}: No such file or directory` };
      // The setup echoes the shell probe back, as a POSIX login shell does.
      if (command.includes('/auth.json && printf')) return remote.setup ?? { stdout: SHELL_PROBE + RUN_DIRS_MARKER };
      return {};
    }
    remoteRuns.push({ words, ...(invocation.stdin !== undefined && { stdin: invocation.stdin }) });
    if (invocation.stdin instanceof Readable) {
      const stream = invocation.stdin;
      uploads.push((async () => Buffer.concat(await stream.toArray()))());
    }
    const fault = remote.fault?.(words);
    if (fault) return fault;
    if (words[0] === 'podman' && words[1] === 'push') {
      // On the host: the digest file is relative to the run's directory there.
      remoteFiles.set(optionValue(words, '--digestfile')!, `${REMOTE_DIGEST}\n`);
      podman.blobs.set(REMOTE_DIGEST, JSON.stringify({ platform: 'linux/arm64' }));
      return {};
    }
    return podman.script({ ...invocation, argv: words }, call);
  };
  const specDir = tempDir();
  mkdirSync(path.join(specDir, 'app'));
  writeFileSync(path.join(specDir, 'app/Containerfile'), 'FROM docker.io/library/busybox:1.36\n');
  writeFileSync(path.join(specDir, 'app/.env'), 'NOT_FOR_THE_HOST=1\n');
  writeFileSync(path.join(specDir, 'app/.dockerignore'), '.env\n');
  const tmpDir = tempDir();
  const events: RunEvent[] = [];
  const report = await executePlan(plan, {
    cwd: specDir,
    env: { REG_PASSWORD: SECRET },
    runner,
    keepGoing,
    retry: { retries: 0, baseMs: 1, maxMs: 1 },
    interrupt: new AbortController().signal,
    kill: new AbortController().signal,
    tmpDir,
    lockDir: path.join(tmpDir, 'locks'),
    onEvent: (event) => events.push(event),
  });
  return {
    report,
    podman,
    runner,
    ssh,
    remoteRuns,
    uploads,
    events,
    tmpDir,
    task: (id: string) => report.tasks.find((t) => t.id === id),
  };
}

const REFUSED = 'ssh: connect to host arm.example.com port 22: Connection refused\n';

/** The list the tag points at: its entries by platform. */
function published(podman: FakePodman, tag: string): Record<string, string> {
  const raw = JSON.parse(podman.blobs.get(podman.tags.get(tag)!)!) as {
    manifests: { digest: string; platform: { os: string; architecture: string } }[];
  };
  return Object.fromEntries(raw.manifests.map((m) => [`${m.platform.os}/${m.platform.architecture}`, m.digest]));
}

describe('executePlan with a build host over ssh', () => {
  it('the host is unreachable, fallback: emulate: arm64 is built here and the image is still published', async () => {
    const plan = planOf();
    const { report, podman, runner, ssh, remoteRuns, task, tmpDir } = await run(plan, {
      master: { exitCode: 255, stderr: REFUSED },
    });
    expect(report.status).toBe('succeeded');
    expect(report.images['app']?.status).toBe('published');

    // The host was tried once, with the master's command line, and nothing ran there.
    const masters = ssh.filter((i) => isMaster(i.argv));
    expect(masters).toHaveLength(1);
    expect(masters[0]!.argv.slice(-2)).toEqual(['--', 'arm.example.com']);
    expect(option(masters[0]!.argv, 'BatchMode=yes')).toBe(true);
    expect(remoteRuns).toEqual([]);
    expect(report.hosts?.['arm']?.connections).toBe(1);

    // The host's chain is replaced by its stand-ins, its failed set-up (login, upload) is covered by them;
    // what never got to run there (the pull after the login, the cleanup) is skipped. Nothing on arm failed.
    const onArm = report.tasks.filter((t) => t.host === 'arm');
    expect(Object.fromEntries(onArm.map((t) => [t.id, t.status]))).toEqual({
      'login:reg@arm': 'replaced',
      'upload:app@arm': 'replaced',
      'pull:docker.io/library/busybox:1.36@arm:linux/arm64': 'skipped',
      'build:app:linux/arm64': 'replaced',
      'test:app:linux/arm64': 'replaced',
      'push:app:linux/arm64': 'replaced',
      'cleanup:app@arm': 'skipped',
    });
    expect(task('build:app:linux/arm64')?.note).toContain('build:app:linux/arm64@fallback');
    expect(task('login:reg@arm')?.note).toContain('its platforms were built here instead');
    expect(task('cleanup:app@arm')).toMatchObject({ status: 'skipped', failure: { reason: 'host-down' } });
    // The first task to reach the host says why it failed.
    expect(onArm.filter((t) => t.failure?.reason === 'host-unreachable').length).toBeGreaterThan(0);
    expect(onArm.find((t) => t.failure?.reason === 'host-unreachable')?.failure?.message).toContain(
      'Connection refused',
    );

    const fallbacks = report.tasks.filter((t) => t.id.endsWith('@fallback'));
    expect(fallbacks.map((t) => t.id).sort()).toEqual([
      'build:app:linux/arm64@fallback',
      'push:app:linux/arm64@fallback',
      'test:app:linux/arm64@fallback',
    ]);
    for (const t of fallbacks) expect(t.status, t.id).toBe('succeeded');
    expect(task('pull:docker.io/library/busybox:1.36@local:linux/arm64')?.status).toBe('succeeded');
    // Built here, for arm64, under emulation.
    expect(
      runner.invocations.some(
        (i) => i.argv[0] === 'podman' && i.argv[1] === 'build' && optionValue(i.argv, '--platform') === 'linux/arm64',
      ),
    ).toBe(true);

    // verify checked the list against the digest the fallback pushed, under the remote push's name; the tag has it.
    const fallbackDigest = task('push:app:linux/arm64@fallback')?.digest;
    expect(fallbackDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(task('verify:app@reg')?.status).toBe('succeeded');
    const list = published(podman, 'localhost:5000/acme/app:v1');
    expect(list['linux/arm64']).toBe(fallbackDigest);
    expect(list['linux/amd64']).toBe(task('push:app:linux/amd64')?.digest);
    expect(report.images['app']?.digest).toBe(task('stage:app@reg')?.digest);

    expect(readdirSync(tmpDir).filter((entry) => entry.startsWith('orchestrate-run-'))).toEqual([]);
    expect(JSON.stringify(runner.invocations.map((i) => i.argv))).not.toContain(SECRET);
  });

  it('the host is unreachable, fallback: fail: no stand-ins, the image fails, and the failure says what to check', async () => {
    const plan = planOf(SPEC.replace('fallback: emulate', 'fallback: fail'));
    expect(plan.tasks.filter((t) => t.id.endsWith('@fallback') || t.standIn !== undefined)).toEqual([]);
    const { report, podman, task } = await run(plan, { master: { exitCode: 255, stderr: REFUSED } });
    expect(report.status).toBe('failed');
    expect(report.images['app']?.status).toBe('failed');
    expect(report.tasks.some((t) => t.id.endsWith('@fallback'))).toBe(false);
    const unreachable = report.tasks.filter((t) => t.failure?.reason === 'host-unreachable');
    expect(unreachable.length).toBeGreaterThan(0);
    for (const t of unreachable) {
      expect(t.host).toBe('arm');
      expect(t.status).toBe('failed');
      expect(t.failure?.message).toContain('arm (ci@arm.example.com:22)');
      expect(t.failure?.hint).toContain('arm.example.com');
      expect(t.failure?.hint).toContain('port 22');
    }
    expect(report.tasks.some((t) => t.status === 'replaced')).toBe(false);
    expect(task('build:app:linux/arm64')?.status).toBe('skipped');
    expect(task('publish:app@reg:v1')?.status).toBe('skipped');
    expect(podman.tags.size).toBe(0);
  });

  it('the connection drops during the remote build: host-lost, and the fallback builds arm64 here', async () => {
    const plan = planOf();
    const { report, podman, ssh, remoteRuns, uploads, task, events } = await run(plan, {
      fault: (words) =>
        words[0] === 'podman' && words[1] === 'build'
          ? { exitCode: 255, stderr: 'STEP 1/2: FROM busybox\nclient_loop: send disconnect: Broken pipe\n' }
          : undefined,
    });
    expect(report.status).toBe('succeeded');
    expect(report.images['app']?.status).toBe('published');

    const build = task('build:app:linux/arm64')!;
    expect(build.status).toBe('replaced');
    expect(build.failure).toMatchObject({ reason: 'host-lost' });
    expect(build.failure?.message).toContain('Broken pipe');
    expect(build.failure?.hint).toContain('fallback: emulate');
    // Not retried: the host failed, not the command.
    expect(build.retries).toBe(0);
    expect(remoteRuns.filter((r) => r.words[1] === 'build')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'task-retry')).toEqual([]);
    // What ran there before the loss stays succeeded; what came after never ran there.
    expect(task('login:reg@arm')?.status).toBe('succeeded');
    expect(task('upload:app@arm')?.status).toBe('succeeded');
    expect(task('test:app:linux/arm64')?.status).toBe('replaced');
    expect(task('push:app:linux/arm64')?.status).toBe('replaced');
    expect(remoteRuns.some((r) => r.words[1] === 'push' || r.words[1] === 'run')).toBe(false);
    expect(task('cleanup:app@arm')).toMatchObject({ status: 'skipped', failure: { reason: 'host-down' } });
    for (const id of [
      'build:app:linux/arm64@fallback',
      'test:app:linux/arm64@fallback',
      'push:app:linux/arm64@fallback',
    ])
      expect(task(id)?.status, id).toBe('succeeded');
    expect(published(podman, 'localhost:5000/acme/app:v1')['linux/arm64']).toBe(
      task('push:app:linux/arm64@fallback')?.digest,
    );

    // The password reached the host on stdin, never in a command line.
    const login = remoteRuns.find((r) => r.words[1] === 'login')!;
    expect(login.stdin).toBe(SECRET);
    expect(JSON.stringify(ssh.map((i) => i.argv))).not.toContain(SECRET);
    // The context went as a tar under the image's name, without what .dockerignore keeps here.
    expect(uploads).toHaveLength(1);
    const listed = spawnSync('tar', ['-t', '-f', '-'], { input: await uploads[0]!, encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean)
      .sort();
    expect(listed).toEqual(['app/', 'app/.dockerignore', 'app/Containerfile']);
    // The remote commands ran in the run's own directory; at the end it was removed and the master closed.
    const runDir = `.cache/orchestrate/run-${report.runId}-arm`;
    const sessions = ssh.filter((i) => isSession(i.argv)).map((i) => i.argv.at(-1)!);
    expect(sessions.filter((c) => c.includes(' && exec ')).every((c) => c.startsWith(`cd -- ${runDir} && `))).toBe(
      true,
    );
    expect(sessions.at(-1)).toBe(`rm -rf -- ${runDir}`);
    expect(isClose(ssh.at(-1)!.argv)).toBe(true);
  });

  it('the host is fine: the stand-ins are not needed, and verify sees the digest read back from the host', async () => {
    const plan = planOf();
    const { report, podman, runner, task } = await run(plan, {});
    expect(report.status).toBe('succeeded');
    expect(report.images['app']?.status).toBe('published');
    for (const t of report.tasks.filter((t) => t.host === 'arm')) expect(t.status, t.id).toBe('succeeded');
    const standIns = plan.tasks.filter((t) => t.standIn !== undefined);
    expect(standIns.map((t) => t.id).sort()).toEqual([
      'build:app:linux/arm64@fallback',
      'pull:docker.io/library/busybox:1.36@local:linux/arm64',
      'push:app:linux/arm64@fallback',
      'test:app:linux/arm64@fallback',
    ]);
    for (const t of standIns) expect(task(t.id)?.status, t.id).toBe('not-needed');
    // Nothing for arm64 was built or pulled here.
    expect(runner.invocations.some((i) => !isSsh(i.argv) && optionValue(i.argv, '--platform') === 'linux/arm64')).toBe(
      false,
    );
    expect(runner.invocations.some((i) => !isSsh(i.argv) && optionValue(i.argv, '--override-arch') === 'arm64')).toBe(
      false,
    );
    expect(task('push:app:linux/arm64')?.digest).toBe(REMOTE_DIGEST);
    expect(task('verify:app@reg')?.status).toBe('succeeded');
    expect(published(podman, 'localhost:5000/acme/app:v1')['linux/arm64']).toBe(REMOTE_DIGEST);
    expect(report.hosts?.['arm']).toMatchObject({ connections: 1, uploads: 1 });
  });

  // Was a bug, found in review: the remote push did not wait for the remote smoke test, so a
  // host lost during the test left the list with the remote push's untested digest while the
  // fallback's tested image was pushed and dropped. On a build host the push now waits for the test.
  it('a host lost during the smoke test after its push: what is published for arm64 is the image that passed its test', async () => {
    const plan = planOf();
    const { report, podman, task, remoteRuns } = await run(plan, {
      fault: (words) =>
        words[0] === 'podman' && words[1] === 'run'
          ? { exitCode: 255, stderr: 'Connection to arm.example.com closed by remote host.\n', delayMs: 60 }
          : undefined,
    });
    // The remote push never ran: it waits for the remote test, which the host's loss ended.
    expect(remoteRuns.some((r) => r.words[1] === 'push')).toBe(false);
    expect(task('push:app:linux/arm64')).toMatchObject({ status: 'replaced' });
    expect(task('test:app:linux/arm64')).toMatchObject({ status: 'replaced', failure: { reason: 'host-lost' } });
    expect(task('test:app:linux/arm64@fallback')?.status).toBe('succeeded');
    expect(report.status).toBe('succeeded');
    // Only a digest whose image passed a smoke test may be published.
    expect(published(podman, 'localhost:5000/acme/app:v1')['linux/arm64']).not.toBe(REMOTE_DIGEST);
    expect(published(podman, 'localhost:5000/acme/app:v1')['linux/arm64']).toBe(
      task('push:app:linux/arm64@fallback')?.digest,
    );
  });

  // Was a bug, found in review and fixed (src/exec/task.ts:112 with src/exec/ssh-runner.ts:129-133 readFile): the connection dropping
  // while the pushed digest is read back (`ssh ... cat -- N.digest` exits 255) is not seen as a
  // host fault: readFile's error is swallowed (`.catch(() => '')`) and the push fails as
  // command-failed "the push succeeded but wrote no digest" with a hint about the podman
  // version; the host is not marked down, no fallback runs, and the run stops.
  it('the connection drops while the pushed digest is read back: host-lost, and the fallback runs', async () => {
    const plan = planOf();
    const { report, task } = await run(plan, {
      read: () => ({ exitCode: 255, stderr: 'client_loop: send disconnect: Broken pipe\n' }),
    });
    expect(task('push:app:linux/arm64')?.failure?.reason).toBe('host-lost');
    expect(task('push:app:linux/arm64@fallback')?.status).toBe('succeeded');
    expect(report.status).toBe('succeeded');
  });
  it('a RUN step that fails at ssh itself is the build failing, not the host: no host-key, no fallback', async () => {
    const plan = planOf();
    const { report, task } = await run(plan, {
      // The command's own stderr, exit 255: ssh's log stays empty and the master is alive.
      fault: (words) =>
        words[0] === 'podman' && words[1] === 'build'
          ? {
              exitCode: 255,
              stderr: 'Host key verification failed.\nfatal: Could not read from remote repository.\n',
              own: true,
            }
          : undefined,
    });
    expect(task('build:app:linux/arm64')?.failure?.reason).toBe('command-failed');
    // Not rebuilt here (not needed, or not started once the run stopped), and the host is not down.
    expect(['not-needed', 'skipped']).toContain(task('build:app:linux/arm64@fallback')?.status);
    expect(task('cleanup:app@arm')?.status).toBe('succeeded');
    expect(report.status).toBe('failed');
  });

  it('an image pinned to the fallen host, with no stand-in, fails the run even when the others fell back', async () => {
    const spec = SPEC.replace(
      'images:\n',
      'images:\n  pinned:\n    context: app\n    strategy: manifest-first\n    host: arm\n    platforms: [linux/arm64]\n',
    );
    const { report } = await run(planOf(spec), { master: { exitCode: 255, stderr: REFUSED } });
    expect(report.images['app']?.status).toBe('published');
    expect(report.images['pinned']?.status).not.toBe('published');
    expect(report.status).toBe('failed');
  });

  it('refuses a host whose login shell changes quoted text (not POSIX)', async () => {
    const { report, task } = await run(planOf(), { setup: { stdout: "q'uote" } });
    expect(task('login:reg@arm')?.failure?.message).toMatch(/login shell of ci changes quoted text/);
    expect(task('login:reg@arm')?.failure?.hint).toMatch(/POSIX login shell/);
    expect(report.status).toBe('failed');
  });
});
