import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { remoteAuths } from '../../src/exec/hosts.js';
import { executePlan, checkRunInputs } from '../../src/exec/run.js';
import { planBuild } from '../../src/plan/planner.js';
import type { Plan } from '../../src/plan/types.js';
import { modelOf, planOf as planSpec } from '../helpers.js';
import { FakePodman } from './fake-podman.js';
import { FakeRunner, optionValue } from './fake-runner.js';
import { execute, isolated, SECRET } from './execute.js';

const SPEC = `version: 1
platforms: [linux/amd64, linux/arm64]
registries:
  reg: { url: "localhost:5000/acme", auth: { username: ci, passwordEnv: REG_PASSWORD } }
images:
  first:
    context: first
    tags: [v1, latest]
    test: { command: [uname, -m], expect: { linux/arm64: aarch64 } }
  second:
    context: second
    strategy: per-arch
    tags: [v1]
    test: { command: [uname, -m] }
`;

const planOf = (spec = SPEC): Plan => planSpec(spec);

describe('executePlan', () => {
  it('runs both strategies to published, verified tags', async () => {
    const podman = new FakePodman();
    const { report, runner, tmpDir, authfileMode } = await execute(planOf(), podman);
    expect(report.status).toBe('succeeded');
    expect(report.images).toMatchObject({ first: { status: 'published' }, second: { status: 'published' } });
    expect(report.images['first']?.published).toEqual([
      'localhost:5000/acme/first:v1',
      'localhost:5000/acme/first:latest',
    ]);
    // Tags point at exactly the digest that was staged and verified.
    const staged = report.tasks.find((t) => t.id === 'stage:first@reg')!.digest;
    expect(podman.tags.get('localhost:5000/acme/first:v1')).toBe(staged);
    expect(report.images['first']?.digest).toBe(staged);
    // The per-arch list holds the digests this run pushed.
    const second = JSON.parse(podman.blobs.get(podman.tags.get('localhost:5000/acme/second:v1')!)!) as {
      manifests: { digest: string }[];
    };
    const pushed = report.tasks.filter((t) => t.kind === 'push').map((t) => t.digest);
    expect(second.manifests.map((m) => m.digest).sort()).toEqual([...pushed].sort());
    // The authfile was private while the run lasted and is gone after it.
    expect(authfileMode).toBe(0o600);
    expect(readdirSync(tmpDir).filter((entry) => entry.startsWith('orchestrate-run-'))).toEqual([]);
    // The password went on stdin, never into argv.
    expect(podman.stdins).toEqual([SECRET]);
    expect(JSON.stringify(runner.invocations.map((i) => i.argv))).not.toContain(SECRET);
    // Staging tags are unique to the run.
    expect(runner.invocations.some((i) => i.argv.some((a) => a.includes(`orchestrate-stage-${report.runId}`)))).toBe(
      true,
    );
  });

  it('fails an image whose smoke test does not match, and moves none of its tags', async () => {
    const podman = new FakePodman();
    podman.fault = (argv) =>
      argv[1] === 'run' && optionValue(argv, '--platform') === 'linux/arm64' && argv.join(' ').includes('first')
        ? { exitCode: 0, stdout: 'armv7l\n' }
        : undefined;
    const { report } = await execute(planOf(), podman, { keepGoing: true });
    expect(report.status).toBe('failed');
    const test = report.tasks.find((t) => t.id === 'test:first:linux/arm64')!;
    expect(test.failure).toMatchObject({ reason: 'expectation-failed' });
    expect(test.failure?.message).toContain('does not match /aarch64/');
    expect([...podman.tags.keys()].filter((t) => t.includes('/first:'))).toEqual([]);
    // --keep-going: the other image still published.
    expect(report.images['second']?.status).toBe('published');
  });

  it('retries a registry operation through 500s, never a failed build', async () => {
    const podman = new FakePodman();
    let failures = 2;
    podman.fault = (argv) => {
      if (argv[1] === 'manifest' && argv[2] === 'push' && failures > 0) {
        failures--;
        return { stderr: 'Error: writing manifest: received unexpected HTTP status: 500 Internal Server Error\n' };
      }
      if (argv[1] === 'build' && optionValue(argv, '--platform') === 'linux/arm64' && argv.join(' ').includes('second'))
        return { exitCode: 1, stderr: 'Error: building at STEP "RUN make": while running runtime: exit status 2\n' };
      return undefined;
    };
    const { report, events } = await execute(planOf(), podman, { keepGoing: true });
    const stage = report.tasks.find((t) => t.id === 'stage:first@reg')!;
    expect(stage).toMatchObject({ status: 'succeeded', retries: 2 });
    expect(events.filter((e) => e.type === 'task-retry')).toHaveLength(2);
    const build = report.tasks.find((t) => t.id === 'build:second:linux/arm64')!;
    expect(build).toMatchObject({
      status: 'failed',
      retries: 0,
      failure: {
        reason: 'command-failed',
        message: 'building at STEP "RUN make": while running runtime: exit status 2',
      },
    });
    expect(report.images['first']?.status).toBe('published');
    expect(report.images['second']?.status).toBe('failed');
  });

  it('retries a build that lost its base to a storage race, and only that kind of build failure', async () => {
    const podman = new FakePodman();
    let races = 1;
    podman.fault = (argv) => {
      if (argv[1] === 'build' && argv.join(' ').includes('first') && races > 0) {
        races--;
        return {
          stderr:
            'Error: creating build container: locating pulled image "b:1" name in containers storage: b:1: image not known\n',
        };
      }
      return undefined;
    };
    const { report } = await execute(planOf(), podman);
    expect(report.tasks.find((t) => t.id === 'build:first')).toMatchObject({ status: 'succeeded', retries: 1 });
  });

  it('gives up after the retries, saying how many', async () => {
    const podman = new FakePodman();
    // Only the tag moves (copy --all): the base-image pulls (copy --override-arch) must not fail first and stop the run.
    podman.fault = (argv) =>
      argv[0] === 'skopeo' && argv[1] === 'copy' && argv.includes('--all')
        ? { stderr: 'Error: 429 Too Many Requests\n' }
        : undefined;
    const { report } = await execute(planOf(), podman);
    // Every publish that ran failed after its retries; one image's failure stops the run, so
    // another image's publishes may not have started (which goes first is the scheduler's).
    const publishes = report.tasks.filter((t) => t.kind === 'publish');
    const failed = publishes.filter((t) => t.status === 'failed');
    expect(failed.length).toBeGreaterThan(0);
    for (const publish of failed) {
      expect(publish).toMatchObject({ retries: 3, failure: { reason: 'registry-unavailable' } });
      expect(publish.failure?.message).toContain('after 3 retries');
    }
    for (const publish of publishes.filter((t) => t.status !== 'failed'))
      expect(publish).toMatchObject({ status: 'skipped', failure: { reason: 'run-stopped' } });
  });

  it('keeps the password out of output, failures and the report', async () => {
    const podman = new FakePodman();
    podman.fault = (argv) =>
      argv[1] === 'login'
        ? { stderr: `Error: logging in to "localhost:5000": invalid username/password for ci:${SECRET}\n` }
        : undefined;
    const { report, events } = await execute(planOf(), podman);
    expect(report.status).toBe('failed');
    const login = report.tasks.find((t) => t.kind === 'login')?.failure;
    expect(login?.reason).toBe('registry-auth');
    // The tool's own words are kept for the report, masked like everything else.
    expect(login?.output?.join('\n')).toContain('for ci:***');
    expect(JSON.stringify(report)).not.toContain(SECRET);
    expect(JSON.stringify(events)).not.toContain(SECRET);
    expect(JSON.stringify(report)).toContain('***');
  });

  it('fails verify when the registry returns a list without a platform', async () => {
    const podman = new FakePodman();
    const honest = podman.script;
    const runner = new FakeRunner((invocation, call) => {
      const answer = honest(invocation, call);
      if (invocation.argv[1] === 'manifest' && invocation.argv[2] === 'push') {
        // A list that lost arm64 on the way: the registry holds what it was sent, short one platform.
        const file = optionValue(invocation.argv, '--digestfile')!;
        const digest = readFileSync(file, 'utf8');
        const raw = JSON.parse(podman.blobs.get(digest)!) as { manifests: { platform: { architecture: string } }[] };
        raw.manifests = raw.manifests.filter((m) => m.platform.architecture !== 'arm64');
        const text = JSON.stringify(raw);
        const shrunk = `sha256:${createHash('sha256').update(text).digest('hex')}`;
        podman.blobs.set(shrunk, text);
        writeFileSync(file, shrunk);
      }
      return answer;
    });
    const plan = planOf();
    const report = await executePlan(plan, {
      cwd: '/',
      env: { REG_PASSWORD: SECRET },
      runner,
      keepGoing: true,
      retry: { retries: 0, baseMs: 1, maxMs: 1 },
      interrupt: new AbortController().signal,
      kill: new AbortController().signal,
      onEvent: () => {},
      ...isolated(),
    });
    const verify = report.tasks.find((t) => t.id === 'verify:first@reg')!;
    expect(verify.failure?.message).toContain('lacks linux/arm64');
    expect(podman.tags.size).toBe(0);
  });

  it('leaves an image in use in place, and says so, without failing the run', async () => {
    const podman = new FakePodman();
    podman.fault = (argv) =>
      argv[1] === 'rmi' && argv.includes('--no-prune')
        ? { stderr: 'Error: image used by 5d2d: image is in use by a container\n' }
        : undefined;
    const { report } = await execute(planOf(), podman);
    expect(report.status).toBe('succeeded');
    expect(report.tasks.find((t) => t.kind === 'cleanup')?.note).toContain('left in place: image used by 5d2d');
  });

  it('interrupted: terminates running tasks, starts nothing, publishes nothing', async () => {
    const podman = new FakePodman();
    const interrupt = new AbortController();
    const runner = new FakeRunner((invocation, call) => {
      if (invocation.argv[1] === 'build') {
        setTimeout(() => interrupt.abort(), 5);
        return { ...podman.script(invocation, call), delayMs: 10_000 };
      }
      return podman.script(invocation, call);
    });
    const report = await executePlan(planOf(), {
      cwd: '/',
      env: { REG_PASSWORD: SECRET },
      runner,
      keepGoing: false,
      interrupt: interrupt.signal,
      kill: new AbortController().signal,
      onEvent: () => {},
      ...isolated(),
    });
    expect(report.status).toBe('interrupted');
    expect(report.tasks.filter((t) => t.status === 'interrupted').length).toBeGreaterThan(0);
    expect(report.tasks.filter((t) => t.kind === 'publish').every((t) => t.status === 'skipped')).toBe(true);
    expect(podman.tags.size).toBe(0);
  });

  it('cleans up per-run images even when the image failed', async () => {
    const podman = new FakePodman();
    podman.fault = (argv) =>
      argv[1] === 'run' && argv.join(' ').includes('second')
        ? { exitCode: 1, stderr: 'Error: exec format error\n' }
        : undefined;
    const { report } = await execute(planOf(), podman, { keepGoing: true });
    expect(report.tasks.find((t) => t.kind === 'cleanup')?.status).toBe('succeeded');
    expect(report.tasks.find((t) => t.id.startsWith('test:second'))?.failure?.reason).toBe('emulation-missing');
  });
});

describe('checkRunInputs', () => {
  it('reports an unset password variable before anything runs', async () => {
    const diagnostics = await checkRunInputs(planOf(), '/', {});
    expect(diagnostics).toEqual([
      expect.objectContaining({ code: 'secret-not-set', message: expect.stringContaining('REG_PASSWORD is not set') }),
    ]);
  });

  it('names a podman connection that does not exist, and an unreadable identity file', async () => {
    const plan = planOf(
      SPEC.replace(
        'images:',
        'hosts:\n  arm: { connection: farm-arm, platforms: [linux/arm64] }\n  s390: { ssh: "ci@s390.example.com:22", identityFile: keys/missing, platforms: [linux/s390x] }\nimages:',
      ).replace('platforms: [linux/amd64, linux/arm64]', 'platforms: [linux/amd64, linux/arm64, linux/s390x]'),
    );
    const podman = new FakeRunner((invocation) =>
      invocation.argv.join(' ') === 'podman system connection list --format json'
        ? { stdout: '[{"Name":"farm-x86","URI":"ssh://core@10.0.0.1:22/run/podman/podman.sock","Identity":""}]' }
        : { exitCode: 1 },
    );
    const diagnostics = await checkRunInputs(plan, '/', { REG_PASSWORD: 'x' }, podman);
    expect(diagnostics).toEqual([
      expect.objectContaining({
        code: 'connection-not-found',
        message: 'host arm: podman has no system connection "farm-arm" (it has: farm-x86)',
      }),
      expect.objectContaining({
        code: 'file-unreadable',
        message: expect.stringContaining('host s390: cannot read identityFile keys/missing'),
      }),
    ]);
  });

  it('refuses a podman connection whose URI is not a plain ssh://user@host', async () => {
    const plan = planOf(
      SPEC.replace('images:', 'hosts:\n  arm: { connection: farm-arm, platforms: [linux/arm64] }\nimages:'),
    );
    for (const uri of ['unix:///run/podman/podman.sock', 'ssh://-oProxyCommand=x@h:22/run/podman/podman.sock']) {
      const podman = new FakeRunner(() => ({ stdout: JSON.stringify([{ Name: 'farm-arm', URI: uri, Identity: '' }]) }));
      const diagnostics = await checkRunInputs(plan, '/', { REG_PASSWORD: 'x' }, podman);
      expect(diagnostics, uri).toEqual([
        expect.objectContaining({ code: 'invalid-ssh-address', message: expect.stringContaining(uri) }),
      ]);
    }
  });

  it('is content with the variable set', async () => {
    expect(await checkRunInputs(planOf(), '/', { REG_PASSWORD: 'x' })).toEqual([]);
  });
});

describe('remoteAuths', () => {
  const SSH_SPEC = SPEC.replace(
    'images:',
    'hosts:\n  arm: { ssh: "ci@arm.example.com:22", platforms: [linux/arm64] }\nimages:',
  ).replace('    strategy: per-arch', '    strategy: per-arch\n    buildArgs: { X: "1" }');
  const auths = {
    'localhost:5000': { auth: 'spec registry' },
    'https://index.docker.io/v1/': { auth: 'docker hub' },
    'quay.io': { auth: 'unrelated' },
    'ghcr.io/acme': { auth: 'unrelated too' },
  };

  it('sends a build host only the credentials for the registries its commands use', () => {
    const plan = planOf(SSH_SPEC);
    // The spec's registry, and Docker Hub, where the arm64 build's base image comes from; not quay.io or ghcr.io.
    expect(
      plan.tasks.some(
        (t) =>
          t.host === 'arm' &&
          t.kind === 'pull' &&
          t.argv.some((a) => typeof a === 'string' && a.startsWith('docker://docker.io/')),
      ),
    ).toBe(true);
    expect(Object.keys(remoteAuths(plan, auths))).toEqual(['localhost:5000', 'https://index.docker.io/v1/']);
  });

  it('sends nothing when no command there reads the authfile (--no-push)', () => {
    const planned = planBuild(modelOf(SSH_SPEC), { images: [], platforms: [], push: false });
    if (!planned.ok) throw new Error('no plan');
    expect(remoteAuths(planned.value, auths)).toEqual({});
  });
});
