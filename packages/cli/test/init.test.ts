import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { orchestrate, project } from './helpers.js';

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/init-docker-stacks');
const PLAN_ARGS = ['plan', '--format', 'json', '--local-platform', 'linux/amd64', '--local-jobs', '2'];

interface PlanJson {
  images: Record<string, { dependsOn: string[]; platforms: string[]; publishes: string[] }>;
  tasks: { id: string; kind: string; argv: unknown[] }[];
}

/** A copy of the trimmed docker-stacks layout, with folders init must skip. */
function dockerStacks(): string {
  const dir = project({});
  cpSync(FIXTURE, dir, { recursive: true });
  // Their FROM lines would add images (and a dependency) if init read them.
  for (const skipped of ['node_modules/some-package', '.devcontainer', 'vendor/tool']) {
    mkdirSync(path.join(dir, skipped), { recursive: true });
    writeFileSync(path.join(dir, skipped, 'Dockerfile'), 'FROM quay.io/jupyter/base-notebook\n');
  }
  return dir;
}

describe('orchestrate init', () => {
  it("writes a spec for a real layout that plans at once, in the repository's own build order", async () => {
    const dir = dockerStacks();
    const init = await orchestrate(['init'], { cwd: dir });
    expect(init.stderr).toBe('');
    expect(init.code).toBe(0);
    const text = readFileSync(path.join(dir, 'multiarch.yaml'), 'utf8');
    expect(text.split('\n')[0]).toBe(
      '# yaml-language-server: $schema=https://multiarch.dev/schemas/multiarch.schema.json',
    );
    expect(text).not.toContain('dependsOn');
    expect(text).toContain('passwordEnv: QUAY_TOKEN');

    const run = await orchestrate(PLAN_ARGS, { cwd: dir });
    expect(run.code).toBe(0);
    const plan = JSON.parse(run.stdout) as PlanJson;
    const dependsOn = Object.fromEntries(Object.entries(plan.images).map(([name, i]) => [name, i.dependsOn]));
    // .github/workflows/docker.yml's parent-image for each image, which the FROM lines state.
    expect(dependsOn).toEqual({
      'docker-stacks-foundation': [],
      'base-notebook': ['docker-stacks-foundation'],
      'minimal-notebook': ['base-notebook'],
      'scipy-notebook': ['minimal-notebook'],
      'r-notebook': ['minimal-notebook'],
      'julia-notebook': ['minimal-notebook'],
      'tensorflow-notebook': ['scipy-notebook'],
      'tensorflow-notebook-cuda': ['scipy-notebook'],
      'pytorch-notebook': ['scipy-notebook'],
      'pytorch-notebook-cuda12': ['scipy-notebook'],
      'pytorch-notebook-cuda13': ['scipy-notebook'],
      'datascience-notebook': ['scipy-notebook'],
      'pyspark-notebook': ['scipy-notebook'],
      'all-spark-notebook': ['pyspark-notebook'],
      pip_install: ['base-notebook'],
      spellcheck_notebook_v6: ['base-notebook'],
    });
    const order = plan.tasks.filter((t) => t.kind === 'build').map((t) => t.id);
    for (const [image, bases] of Object.entries(dependsOn))
      for (const base of bases) expect(order.indexOf(`build:${base}`)).toBeLessThan(order.indexOf(`build:${image}`));
    expect(plan.images['base-notebook']?.publishes).toContain('quay.io/jupyter/base-notebook:latest');
    expect(plan.images['base-notebook']?.platforms).toEqual(['linux/amd64', 'linux/arm64']);
  });

  it('never writes over a spec without --force: exit 2 with a diagnostic, the file untouched', async () => {
    const dir = project({ 'multiarch.yaml': 'mine\n', 'app/Containerfile': 'FROM docker.io/library/busybox\n' });
    const refused = await orchestrate(['init'], { cwd: dir });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('multiarch.yaml:1:1  error  spec-exists');
    expect(refused.stderr).toContain('--force');
    expect(readFileSync(path.join(dir, 'multiarch.yaml'), 'utf8')).toBe('mine\n');

    const forced = await orchestrate(['init', '--force', dir], { cwd: '/' });
    expect(forced.code).toBe(0);
    expect(readFileSync(path.join(dir, 'multiarch.yaml'), 'utf8')).toContain('  app:\n    context: app\n');
    expect((await orchestrate(PLAN_ARGS, { cwd: dir })).code).toBe(0);
  });

  it('says so when there is nothing to write from, exit 2, and writes nothing', async () => {
    const dir = project({ 'README.md': 'no images\n', 'node_modules/x/Dockerfile': 'FROM docker.io/library/node\n' });
    const run = await orchestrate(['init'], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no-containerfiles');
    expect(existsSync(path.join(dir, 'multiarch.yaml'))).toBe(false);
    expect((await orchestrate(['init', 'nowhere'], { cwd: dir })).code).toBe(2);
  });

  it("reads a localhost/ base's platforms from podman's storage, and asks no registry unless told", async () => {
    const dir = project({
      'base/Containerfile': 'FROM localhost/rootfs:latest\n',
      'app/Containerfile': 'FROM localhost/base\n',
      'tool/Containerfile': 'FROM quay.io/other/tool:1\n',
    });
    // Stand-ins for podman and skopeo: the test talks to no registry, and sees who was asked what.
    const bin = path.join(dir, 'bin');
    const calls = path.join(dir, 'calls.log');
    const list = JSON.stringify({
      manifests: [
        { platform: { os: 'linux', architecture: 'amd64' } },
        { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
        { platform: { os: 'linux', architecture: 's390x' } },
        { platform: { os: 'unknown', architecture: 'unknown' } },
      ],
    });
    mkdirSync(bin);
    for (const tool of ['podman', 'skopeo']) {
      writeFileSync(path.join(bin, tool), `#!/bin/sh\necho "${tool} $*" >> '${calls}'\ncat <<'EOF'\n${list}\nEOF\n`);
      chmodSync(path.join(bin, tool), 0o755);
    }
    const env = { PATH: `${bin}:${process.env['PATH'] ?? ''}` };
    const init = await orchestrate(['init', '--force'], { cwd: dir, env });
    expect(init.code).toBe(0);
    expect(readFileSync(calls, 'utf8')).toBe('podman manifest inspect -- localhost/rootfs:latest\n');
    const plan = JSON.parse((await orchestrate(PLAN_ARGS, { cwd: dir })).stdout) as PlanJson;
    expect(plan.images['base']?.platforms).toEqual(['linux/amd64', 'linux/arm64', 'linux/s390x']);
    expect(plan.images['app']?.platforms).toEqual(['linux/amd64', 'linux/arm64', 'linux/s390x']);
    expect(plan.images['app']?.dependsOn).toEqual(['base']);
    expect(plan.images['tool']?.platforms).toEqual(['linux/amd64', 'linux/arm64']);

    writeFileSync(calls, '');
    expect((await orchestrate(['init', '--force', '--platforms-from-registry'], { cwd: dir, env })).code).toBe(0);
    expect(readFileSync(calls, 'utf8')).toContain('skopeo inspect --raw -- docker://quay.io/other/tool:1\n');
    const asked = JSON.parse((await orchestrate(PLAN_ARGS, { cwd: dir })).stdout) as PlanJson;
    expect(asked.images['tool']?.platforms).toEqual(['linux/amd64', 'linux/arm64', 'linux/s390x']);
  });
});
