import { describe, expect, it } from 'vitest';
import { planBuild, type PlanOptions } from '../src/plan/planner.js';
import { formatArg } from '../src/plan/commands.js';
import type { Plan, PlanTask, TaskOf } from '../src/plan/types.js';
import { retryClass } from '../src/exec/kinds.js';
import { analyzeText, modelOf, type AnalyzeTextOptions } from './helpers.js';

function plan(text: string, options: PlanOptions = {}, analyze: AnalyzeTextOptions = {}): Plan {
  const result = planBuild(modelOf(text, analyze), options);
  if (!result.ok) throw new Error(result.diagnostics.map((d) => d.message).join('\n'));
  return result.value;
}

const task = (p: Plan, id: string): PlanTask => {
  const found = p.tasks.find((t) => t.id === id);
  if (!found) throw new Error(`no task ${id} in ${p.tasks.map((t) => t.id).join(', ')}`);
  return found;
};
/** The task, checked to be of `kind`, typed as that kind's own fields. */
const taskOf = <K extends PlanTask['kind']>(p: Plan, id: string, kind: K): TaskOf<K> => {
  const found = task(p, id);
  if (found.kind !== kind) throw new Error(`${id} is a ${found.kind}, not a ${kind}`);
  return found as TaskOf<K>;
};
const argv = (t: PlanTask) => t.argv.map(formatArg).join(' ');
const ids = (p: Plan, kind: PlanTask['kind']) => p.tasks.filter((t) => t.kind === kind).map((t) => t.id);

const REGISTRY = `registries:
  reg:
    url: registry.example.com/team
    auth: { username: ci, passwordEnv: REG_TOKEN }
`;

/** amd64 and arm64, one registry without auth, these image lines. */
function twoPlatforms(images: string[]): string {
  return `version: 1\nplatforms: [linux/amd64, linux/arm64]\nregistries:\n  reg: { url: registry.example.com/team }\nimages:\n${images.map((line) => `  ${line}\n`).join('')}`;
}

describe('manifest-first', () => {
  const spec = `version: 1
platforms: [linux/amd64, linux/arm64, linux/s390x]
${REGISTRY}images:
  app:
    context: app
    tags: [v1, latest]
    buildArgs: { MODE: prod }
    test: { command: [uname, -m] }
`;

  it('removes the stale list, then builds every platform into it in one command', () => {
    const p = plan(spec);
    // rmi, not manifest rm: a plain image pulled under the list's name must go too.
    expect(argv(task(p, 'reset:app'))).toBe('podman manifest rm -- registry.example.com/team/app:v1');
    expect(argv(task(p, 'build:app'))).toBe(
      'podman build --platform=linux/amd64,linux/arm64,linux/s390x --manifest=registry.example.com/team/app:v1 --jobs=2 --file=app/Containerfile --build-arg=MODE=prod --authfile=<authfile> -- app',
    );
    expect(task(p, 'build:app').dependsOn).toContain('reset:app');
    expect(task(p, 'build:app').emulated).toEqual(['linux/arm64', 'linux/s390x']);
    expect(retryClass(task(p, 'build:app'))).toBe('never');
  });

  it('smoke-tests each platform of the local list, never pulling another copy', () => {
    const p = plan(spec);
    expect(ids(p, 'test')).toEqual(['test:app:linux/amd64', 'test:app:linux/arm64', 'test:app:linux/s390x']);
    // Named per run and task: an interrupted test's container is removed by that name.
    expect(argv(task(p, 'test:app:linux/arm64'))).toBe(
      'podman run --rm --pull=never --name=orchestrate-<run-id>-test-app-linux-arm64 --platform=linux/arm64 -- registry.example.com/team/app:v1 uname -m',
    );
  });

  it('stages the list under a run-unique tag, verifies it, and only then moves each final tag to the verified digest', () => {
    const p = plan(spec);
    const stage = task(p, 'stage:app@reg');
    expect(stage.dependsOn).toEqual(
      expect.arrayContaining(['build:app', 'test:app:linux/amd64', 'test:app:linux/arm64', 'test:app:linux/s390x']),
    );
    expect(argv(stage)).toContain('podman manifest push --all');
    expect(argv(stage)).toContain('docker://registry.example.com/team/app:orchestrate-stage-<run-id>');
    expect(taskOf(p, 'verify:app@reg', 'verify').expect).toEqual({
      platforms: ['linux/amd64', 'linux/arm64', 'linux/s390x'],
    });
    expect(ids(p, 'publish')).toEqual(['publish:app@reg:v1', 'publish:app@reg:latest']);
    expect(argv(task(p, 'publish:app@reg:latest'))).toBe(
      'skopeo copy --all --preserve-digests --authfile=<authfile> -- docker://registry.example.com/team/app@<digest of stage:app@reg> docker://registry.example.com/team/app:latest',
    );
    expect(task(p, 'publish:app@reg:latest').dependsOn).toEqual(['verify:app@reg']);
  });

  it('caps podman --jobs at the local host jobs and the platform count', () => {
    const p = plan(spec.replace('images:', 'hosts:\n  local: { jobs: 8 }\nimages:'));
    expect(argv(task(p, 'build:app'))).toContain('--jobs=3');
  });
});

describe('per-arch', () => {
  const spec = `version: 1
platforms: [linux/amd64, linux/arm64, linux/s390x]
strategy: per-arch
${REGISTRY}hosts:
  arm1:
    ssh: builder@arm1.example.com:2222
    platforms: [linux/arm64]
    fallback: emulate
images:
  app:
    context: app
    tags: [v1]
`;

  it('builds each platform on a host that runs it natively, else here under QEMU, and says so', () => {
    const p = plan(spec);
    expect(task(p, 'build:app:linux/amd64')).toMatchObject({ host: 'local', placement: 'native here' });
    expect(task(p, 'build:app:linux/arm64')).toMatchObject({
      host: 'arm1',
      placement: expect.stringContaining('native on arm1'),
    });
    expect(task(p, 'build:app:linux/arm64').placement).toContain('falls back to QEMU');
    expect(task(p, 'build:app:linux/s390x')).toMatchObject({ host: 'local', emulated: ['linux/s390x'] });
    expect(task(p, 'build:app:linux/s390x').placement).toContain('QEMU');
  });

  it('pushes each platform by digest to a staging tag unique to the run, never a shared arch tag', () => {
    const p = plan(spec);
    for (const id of ids(p, 'push')) {
      const push = task(p, id);
      const destination = push.argv.at(-1);
      expect(destination).toMatchObject({ ref: 'run-id' });
      expect(push.argv).toContainEqual({ ref: 'digest-file', prefix: '--digestfile=' });
      expect(retryClass(push)).toBe('registry');
    }
    expect(task(p, 'push:app:linux/arm64').host).toBe('arm1');
    expect(task(p, 'push:app:linux/arm64').dependsOn).toContain('login:reg@arm1');
  });

  it('assembles the list from the pushed digests, one manifest add at a time', () => {
    const p = plan(spec);
    expect(argv(task(p, 'assemble:app'))).toBe('podman manifest create -- registry.example.com/team/app:v1');
    expect(task(p, 'assemble:app').dependsOn).toEqual(['reset:app']);
    expect(argv(task(p, 'assemble:app:linux/arm64'))).toBe(
      'podman manifest add --authfile=<authfile> -- registry.example.com/team/app:v1 docker://registry.example.com/team/app@<digest of push:app:linux/arm64>',
    );
    expect(task(p, 'assemble:app:linux/arm64').dependsOn).toEqual(
      expect.arrayContaining(['assemble:app:linux/amd64', 'push:app:linux/arm64']),
    );
    expect(task(p, 'stage:app@reg').dependsOn).toContain('assemble:app:linux/s390x');
  });

  it('warns that a loopback registry means something else on a remote host', () => {
    const p = plan(spec.replace('registry.example.com/team', 'localhost:5000/team'));
    expect(p.notes).toContain(
      'arm1 talks to registry reg at localhost:5000: on arm1, that is arm1 itself, not this machine',
    );
    expect(plan(spec).notes.join('\n')).not.toContain('itself');
  });

  it('removes the per-run images from each host after the publish', () => {
    const p = plan(spec);
    const cleanup = task(p, 'cleanup:app@arm1');
    expect(cleanup.host).toBe('arm1');
    expect(argv(cleanup)).toBe('podman rmi --ignore --no-prune -- localhost/orchestrate/app:linux-arm64-<run-id>');
    expect(cleanup.dependsOn).toEqual(expect.arrayContaining(['push:app:linux/arm64', 'publish:app@reg:v1']));
    expect(cleanup.kind === 'cleanup' && cleanup.always).toBe(true);
    // A stable second name keeps the image, and so the build cache of its last step, for the next run.
    expect(argv(task(p, 'build:app:linux/arm64'))).toContain(
      '--tag=localhost/orchestrate/app:linux-arm64-<run-id> --tag=localhost/orchestrate/app:linux-arm64 ',
    );
  });

  it('copies an outside base once per host and platform, and pins per-arch builds to the copy', () => {
    const p = plan(
      twoPlatforms([
        'one: { context: one, strategy: per-arch }',
        'two: { context: two, strategy: per-arch }',
        'three: { context: three }',
      ]),
    );
    const pulls = p.tasks.filter((t) => t.kind === 'pull').map((t) => t.id);
    expect(pulls).toEqual([
      'pull:docker.io/library/busybox:1.36@local:linux/amd64',
      'pull:docker.io/library/busybox:1.36@local:linux/arm64',
    ]);
    expect(argv(task(p, pulls[1]!))).toBe(
      'skopeo copy --quiet --override-os=linux --override-arch=arm64 -- docker://docker.io/library/busybox:1.36 containers-storage:localhost/orchestrate/pulled/docker.io/library/busybox/1.36:linux-arm64',
    );
    for (const image of ['one', 'two']) {
      const build = task(p, `build:${image}:linux/arm64`);
      expect(build.dependsOn).toContain(pulls[1]);
      expect(argv(build)).toContain(
        '--build-context=docker.io/library/busybox:1.36=docker-image://localhost/orchestrate/pulled/docker.io/library/busybox/1.36:linux-arm64',
      );
      expect(build.kind === 'build' && build.pulls).toBeUndefined();
    }
    // A multi-platform build pulls for itself: it says what, so builds racing for one name stay apart.
    expect(taskOf(p, 'build:three', 'build').pulls).toEqual(['docker.io/library/busybox:1.36']);
  });

  it('keeps per-run images until the dependents built on that host are done with their layers', () => {
    const p = plan(
      twoPlatforms([
        'tools: { context: tools, strategy: per-arch }',
        'worker: { context: worker, dependsOn: [tools] }',
      ]),
    );
    expect(task(p, 'cleanup:tools@local').dependsOn).toContain('build:worker');
  });
});

describe('dependencies between images', () => {
  const spec = `version: 1
platforms: [linux/amd64, linux/arm64]
${REGISTRY}images:
  app:
    context: app
    strategy: per-arch
  base:
    context: base
    tags: [v1]
`;
  const files = {
    'app/Containerfile': 'ARG REG=registry.example.com/team\nFROM ${REG}/base:v1\n',
    'base/Containerfile': 'FROM docker.io/library/busybox\n',
  };

  it('builds a dependency first, whatever the spec order, and dependents wait for it locally', () => {
    const p = plan(spec, {}, { files });
    const order = p.tasks.map((t) => t.id);
    expect(order.indexOf('build:base')).toBeLessThan(order.indexOf('build:app:linux/amd64'));
    expect(task(p, 'build:app:linux/amd64').dependsOn).toContain('build:base');
    expect(p.images['app']?.dependsOn).toEqual(['base']);
  });

  it('a Docker Hub short name of an image of the spec is a dependency, pinned so podman never resolves it', () => {
    const hub = `version: 1
registries:
  hub: { url: docker.io/acme }
images:
  base: { context: base }
  app: { context: app }
  tool: { context: tool }
`;
    const p = plan(
      hub,
      {},
      {
        files: {
          'base/Containerfile': 'FROM docker.io/library/busybox\n',
          'app/Containerfile': 'ARG NAMESPACE=acme\nFROM ${NAMESPACE}/base:latest\n',
          'tool/Containerfile': 'FROM index.docker.io/acme/app\n',
        },
      },
    );
    expect(p.images['app']?.dependsOn).toEqual(['base']);
    expect(p.images['tool']?.dependsOn).toEqual(['app']);
    const build = argv(task(p, 'build:app'));
    expect(build).toContain('--build-context=acme/base:latest=docker-image://');
    expect(build).toContain('--build-context=${NAMESPACE}/base:latest=docker-image://');
    const warnings = analyzeText(hub, {
      files: {
        'base/Containerfile': 'FROM acme/other\n',
        'app/Containerfile': 'FROM acme/base\n',
        'tool/Containerfile': 'FROM docker.io/library/busybox\n',
      },
    }).diagnostics.filter((d) => d.code === 'short-name-from');
    // The short name of a spec image is no warning; one of an outside image still is.
    expect(warnings.map((d) => d.file)).toEqual(['base/Containerfile']);
  });

  it('--image pulls in what the image depends on; an unknown name is a diagnostic with a suggestion', () => {
    const p = plan(spec, { images: ['app'] }, { files });
    expect(Object.keys(p.images)).toEqual(['base', 'app']);
    const only = plan(spec, { images: ['base'] }, { files });
    expect(Object.keys(only.images)).toEqual(['base']);
    const wrong = planBuild(modelOf(spec, { files }), { images: ['ap'] });
    expect(wrong.ok).toBe(false);
    expect(wrong.diagnostics[0]).toMatchObject({ code: 'filter-no-match', hint: 'did you mean "app"?' });
  });
});

describe('filters and options', () => {
  const spec = `version: 1
platforms: [linux/amd64, linux/arm64]
${REGISTRY}images:
  app: { context: app }
  tool: { context: tool, platforms: [linux/arm64] }
`;

  it('--platform narrows images, drops those without it, and never publishes a partial list', () => {
    const p = plan(spec, { platforms: ['linux/amd64'] });
    expect(Object.keys(p.images)).toEqual(['app']);
    expect(p.images['app']).toMatchObject({ platforms: ['linux/amd64'], publishes: [] });
    expect(ids(p, 'publish')).toEqual([]);
    expect(ids(p, 'stage')).toEqual([]);
    expect(p.notes.join('\n')).toContain('not published');
  });

  it('--platform keeps publishing an image it does not narrow', () => {
    const p = plan(spec, { platforms: ['linux/arm64'] });
    expect(p.images['tool']?.publishes).toEqual(['registry.example.com/team/tool:latest']);
    expect(p.images['app']?.publishes).toEqual([]);
  });

  it('--no-push builds and tests without logins or registry traffic', () => {
    const p = plan(spec, { push: false });
    expect(
      p.tasks.map((t) => t.kind).filter((k) => ['login', 'push', 'stage', 'verify', 'publish'].includes(k)),
    ).toEqual([]);
    expect(ids(p, 'build')).toEqual(['build:app', 'build:tool']);
  });

  it('an image with no registries is built, not published, and the plan says so', () => {
    const p = plan(spec.replace('app: { context: app }', 'app: { context: app, registries: [] }'));
    expect(p.images['app']?.publishes).toEqual([]);
    expect(p.notes.join('\n')).toContain('app names no registry');
  });

  it('a registry without TLS verification gets it turned off on every command that talks to it', () => {
    const p = plan(spec.replace('    auth:', '    tlsVerify: false\n    auth:'));
    for (const id of [...ids(p, 'login'), ...ids(p, 'stage'), ...ids(p, 'verify')])
      expect(argv(task(p, id))).toContain('--tls-verify=false');
    expect(argv(task(p, 'publish:app@reg:latest'))).toContain('--src-tls-verify=false --dest-tls-verify=false');
  });

  it("without credentials in the spec, uses podman's own authfile and logs in nowhere", () => {
    const p = plan(spec.replace('    auth: { username: ci, passwordEnv: REG_TOKEN }\n', ''));
    expect(ids(p, 'login')).toEqual([]);
    expect(p.tasks.some((t) => t.argv.some((a) => typeof a !== 'string' && a.ref === 'authfile'))).toBe(false);
  });
});

describe('secrets', () => {
  it('never puts a password in the plan: the login names the variable it reads on stdin', () => {
    const secret = 's3cr3t-value-that-must-not-leak';
    const p = plan(`version: 1\n${REGISTRY}images:\n  app: { context: app }\n`, {}, { env: { REG_TOKEN: secret } });
    expect(JSON.stringify(p)).not.toContain(secret);
    const login = task(p, 'login:reg@local');
    expect(login.kind === 'login' && login.stdin).toEqual({ env: 'REG_TOKEN' });
    expect(login.argv).toContain('--password-stdin');
    expect(p.registries['reg']?.auth).toBe('env:REG_TOKEN');
  });
});

describe('plan shape', () => {
  it('is the same for the same spec, byte for byte', () => {
    const spec = `version: 1\n${REGISTRY}images:\n  a: { context: a }\n  b: { context: b, dependsOn: [a], strategy: per-arch }\n`;
    expect(JSON.stringify(plan(spec))).toBe(JSON.stringify(plan(spec)));
  });
});

describe('numbers YAML would change', () => {
  it('keeps 1.10 as written in a variable and a build arg', () => {
    const p = plan(
      `version: 1\nvariables:\n  VERSION: 1.10\nimages:\n  app:\n    context: app\n    tags: ["\${VERSION}"]\n    buildArgs: { V: 2.50 }\n`,
    );
    expect(p.images['app']?.publishes).toEqual([]);
    expect(argv(task(p, 'build:app'))).toContain('--manifest=localhost/app:1.10');
    expect(argv(task(p, 'build:app'))).toContain('--build-arg=V=2.50');
  });
});

describe('an image that names its host', () => {
  const spec = `version: 1
platforms: [linux/amd64, linux/arm64]
${REGISTRY}hosts:
  arm1:
    ssh: builder@arm1.example.com
    platforms: [linux/arm64]
    podman: /usr/local/bin/podman
images:
  base:
    context: base
    host: arm1
  app:
    context: app
    dependsOn: [base]
  tool:
    context: tool
    strategy: per-arch
    host: arm1
`;

  it('builds a manifest-first image there, emulating what it lacks, and stages its list from there', () => {
    const p = plan(spec);
    expect(task(p, 'build:base')).toMatchObject({
      host: 'arm1',
      emulated: ['linux/amd64'],
      placement: 'on arm1, linux/amd64 under QEMU emulation',
    });
    expect(argv(task(p, 'build:base')).startsWith('/usr/local/bin/podman build')).toBe(true);
    expect(task(p, 'reset:base').host).toBe('arm1');
    expect(task(p, 'stage:base@reg')).toMatchObject({
      host: 'arm1',
      dependsOn: expect.arrayContaining(['login:reg@arm1']),
    });
    expect(task(p, 'verify:base@reg').host).toBe('local');
  });

  it('gives a dependent on another host the image through the registry, not a stale local copy', () => {
    const p = plan(spec);
    expect(task(p, 'build:app').host).toBe('local');
    expect(task(p, 'build:app').dependsOn).toContain('stage:base@reg');
    expect(task(p, 'build:app').dependsOn).not.toContain('build:base');
  });

  it('pins every platform of a per-arch image to it', () => {
    const p = plan(spec);
    expect(task(p, 'build:tool:linux/amd64')).toMatchObject({ host: 'arm1', emulated: ['linux/amd64'] });
    expect(task(p, 'build:tool:linux/arm64')).toMatchObject({
      host: 'arm1',
      placement: "native on arm1 (the image's host)",
    });
  });

  it('an unknown host is a diagnostic at the name, with a suggestion', () => {
    const { diagnostics } = analyzeText(spec.replace('host: arm1\n  app', 'host: arm2\n  app'));
    expect(diagnostics).toEqual([
      expect.objectContaining({
        code: 'unknown-host',
        hint: 'did you mean "arm1"?',
        range: expect.objectContaining({ start: { line: 15, col: 11 } }),
      }),
    ]);
  });
});

describe("dependents get exactly this run's build", () => {
  const spec = `version: 1
platforms: [linux/amd64, linux/arm64]
${REGISTRY}hosts:
  arm1:
    ssh: builder@arm1.example.com
    platforms: [linux/arm64]
images:
  base:
    context: base
    tags: [v1, latest]
  app:
    context: app
    strategy: per-arch
  tool:
    context: tool
    dependsOn: [app]
`;
  const files = {
    'base/Containerfile': 'FROM docker.io/library/busybox\n',
    'app/Containerfile': 'FROM registry.example.com/team/base:latest\n',
    'tool/Containerfile': 'FROM localhost/app\n',
  };

  it('pins the FROM reference to the local list on the same host, whatever tag it names', () => {
    const p = plan(spec, {}, { files });
    expect(argv(task(p, 'build:app:linux/amd64'))).toContain(
      '--build-context=registry.example.com/team/base:latest=docker-image://registry.example.com/team/base:v1',
    );
    expect(task(p, 'build:app:linux/amd64').dependsOn).toContain('build:base');
  });

  it('pins it to the staged digest on another host, and waits for the stage, not the final tag', () => {
    const p = plan(spec, {}, { files });
    const remote = task(p, 'build:app:linux/arm64');
    expect(remote.host).toBe('arm1');
    expect(argv(remote)).toContain(
      '--build-context=registry.example.com/team/base:latest=docker-image://registry.example.com/team/base@<digest of stage:base@reg>',
    );
    expect(remote.dependsOn).toContain('stage:base@reg');
    expect(remote.dependsOn.some((id) => id.startsWith('publish:'))).toBe(false);
  });

  it('a per-arch dependency is used by its staged digest: a list of registry digests is not built FROM locally', () => {
    const p = plan(spec, {}, { files });
    expect(argv(task(p, 'build:tool'))).toContain(
      '--build-context=localhost/app=docker-image://registry.example.com/team/app@<digest of stage:app@reg>',
    );
  });

  it('checks the staged list from here after logging in here, even when it was built elsewhere', () => {
    const p = plan(
      spec.replace('  base:\n    context: base', '  base:\n    context: base\n    host: arm1'),
      {},
      { files },
    );
    expect(task(p, 'stage:base@reg').host).toBe('arm1');
    expect(task(p, 'verify:base@reg').dependsOn).toContain('login:reg@local');
  });
});

describe('per-arch without a registry', () => {
  const spec = `version: 1\nplatforms: [linux/amd64, linux/arm64]\nimages:\n  app: { context: app, strategy: per-arch }\n  tool: { context: tool }\n`;
  const files = {
    'app/Containerfile': 'FROM docker.io/library/busybox\n',
    'tool/Containerfile': 'FROM localhost/app:latest\n',
  };

  it('names its images stably (nothing left behind per run), assembles from local storage, and dependents wait for all of it', () => {
    const p = plan(spec, {}, { files });
    expect(argv(task(p, 'build:app:linux/arm64'))).toContain('--tag=localhost/orchestrate/app:linux-arm64 ');
    expect(argv(task(p, 'assemble:app:linux/arm64'))).toBe(
      'podman manifest add -- localhost/app:latest containers-storage:localhost/orchestrate/app:linux-arm64',
    );
    expect(ids(p, 'cleanup')).toEqual([]);
    expect(task(p, 'build:tool').dependsOn).toContain('assemble:app:linux/arm64');
    expect(argv(task(p, 'build:tool'))).toContain(
      '--build-context=localhost/app:latest=docker-image://localhost/app:latest',
    );
  });
});

describe('--platform that matches nothing', () => {
  it('is an error, not an empty plan', () => {
    const result = planBuild(
      modelOf(`version: 1\nplatforms: [linux/amd64, linux/arm64]\nimages:\n  app: { context: app }\n`),
      { platforms: ['linux/arm/v7'] },
    );
    expect(result.ok).toBe(false);
    expect(result.diagnostics[0]).toMatchObject({
      code: 'filter-no-match',
      message: '--platform linux/arm/v7: no selected image is built for it',
    });
  });
});
