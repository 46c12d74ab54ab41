/**
 * Base images resolved as podman and Docker resolve them by hand: Docker Hub's short names of
 * the spec's own images, references the author pinned, and localhost/ names from local storage.
 */
import { describe, expect, it } from 'vitest';
import { planBuild } from '../src/plan/planner.js';
import { formatArg } from '../src/plan/commands.js';
import { normalizeReference } from '../src/model/containerfile.js';
import type { Plan, PlanTask } from '../src/plan/types.js';
import { analyzeText, modelOf } from './helpers.js';

function plan(text: string, files: Record<string, string>): Plan {
  const result = planBuild(modelOf(text, { files }), {});
  if (!result.ok) throw new Error(result.diagnostics.map((d) => d.message).join('\n'));
  return result.value;
}
const argv = (t: PlanTask | undefined) => (t?.argv ?? []).map(formatArg).join(' ');
const byId = (p: Plan, id: string) => p.tasks.find((t) => t.id === id);

const HUB = `version: 1
platforms: [linux/amd64, linux/arm64]
registries:
  hub: { url: docker.io/acme }
images:
  base: { context: base, tags: ["2.0", latest] }
  app: { context: app, strategy: per-arch }
`;

describe('normalizeReference', () => {
  it('spells Docker Hub names one way, keeps tags as written and splits digests off', () => {
    expect(normalizeReference('acme/base')).toEqual({ name: 'docker.io/acme/base' });
    expect(normalizeReference('alpine:3.20')).toEqual({ name: 'docker.io/library/alpine', tag: '3.20' });
    expect(normalizeReference('index.docker.io/Acme/Base:V1')).toEqual({ name: 'docker.io/acme/base', tag: 'V1' });
    expect(normalizeReference('docker.io/alpine:3')).toEqual({ name: 'docker.io/library/alpine', tag: '3' });
    expect(normalizeReference('localhost:5000/a/b@sha256:00')).toEqual({
      name: 'localhost:5000/a/b',
      digest: 'sha256:00',
    });
    expect(normalizeReference('localhost/base:1@sha256:00')).toEqual({
      name: 'localhost/base',
      tag: '1',
      digest: 'sha256:00',
    });
  });
});

describe("Docker Hub short names of the spec's images", () => {
  for (const from of ['acme/base:latest', 'acme/base', 'docker.io/acme/base:2.0', 'index.docker.io/acme/base']) {
    it(`FROM ${from} is a dependency, pinned so podman never resolves the short name`, () => {
      const p = plan(HUB, {
        'base/Containerfile': 'FROM docker.io/library/busybox\n',
        'app/Containerfile': `FROM ${from}\n`,
      });
      expect(p.images['app']?.dependsOn).toEqual(['base']);
      const build = byId(p, 'build:app:linux/amd64');
      expect(build?.dependsOn).toContain('build:base');
      expect(argv(build)).toContain(`--build-context=${from}=docker-image://`);
      expect(p.tasks.some((t) => t.kind === 'pull' && t.source === from)).toBe(false);
    });
  }

  it('gives no short-name warning for a name that is an image of the spec, and keeps it for others', () => {
    const { diagnostics } = analyzeText(HUB, {
      files: { 'base/Containerfile': 'FROM busybox\n', 'app/Containerfile': 'FROM acme/base\n' },
    });
    const warned = diagnostics.filter((d) => d.code === 'short-name-from').map((d) => d.file);
    expect(warned).toEqual(['base/Containerfile']);
  });
});

describe('what the author pinned stays pinned', () => {
  const base = { 'base/Containerfile': 'FROM docker.io/library/busybox\n' };
  it('a digest names the image as it is: outside, pulled, and said so', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const p = plan(HUB, { ...base, 'app/Containerfile': `FROM docker.io/acme/base@${digest}\n` });
    expect(p.images['app']?.dependsOn).toEqual([]);
    expect(p.tasks.some((t) => t.kind === 'pull' && t.source === `docker.io/acme/base@${digest}`)).toBe(true);
    expect(p.notes.join('\n')).toContain(`app: FROM docker.io/acme/base@${digest} names a digest`);
  });

  it('a tag the spec does not publish names an outside image; one it publishes is this run', () => {
    const p = plan(HUB, { ...base, 'app/Containerfile': 'FROM docker.io/acme/base:1.0\n' });
    expect(p.images['app']?.dependsOn).toEqual([]);
    expect(p.notes.join('\n')).toContain(
      'names tag "1.0", which this spec does not publish "base" under (2.0, latest)',
    );
    const ours = plan(HUB, { ...base, 'app/Containerfile': 'FROM docker.io/acme/base:2.0\n' });
    expect(ours.images['app']?.dependsOn).toEqual(['base']);
  });

  it('a tag made of a build arg that has no value is taken to mean this run', () => {
    const p = plan(HUB, { ...base, 'app/Containerfile': 'ARG V\nFROM docker.io/acme/base:${V}\n' });
    expect(p.images['app']?.dependsOn).toEqual(['base']);
  });
});

describe('localhost/ base images come from local storage, never from a registry', () => {
  const spec = `version: 1
platforms: [linux/amd64, linux/arm64]
registries:
  reg: { url: registry.example.com/team }
hosts:
  arm1: { ssh: builder@arm1.example.com, platforms: [linux/arm64] }
images:
  app: { context: app, strategy: per-arch }
  mf: { context: app }
`;
  const files = { 'app/Containerfile': 'FROM localhost/base:latest\nRUN true\n' };

  it('per-arch: each platform takes its instance on its own host, pinned under a name of its own', () => {
    const p = plan(spec, files);
    const here = byId(p, 'pull:localhost/base:latest@local:linux/amd64');
    const there = byId(p, 'pull:localhost/base:latest@arm1:linux/arm64');
    expect(here).toMatchObject({ kind: 'local-base', host: 'local', reference: 'localhost/base:latest' });
    expect(there).toMatchObject({ kind: 'local-base', host: 'arm1' });
    expect(argv(here)).toBe('podman tag -- <image-id> localhost/orchestrate/pulled/localhost/base/latest:linux-amd64');
    expect(p.tasks.some((t) => t.kind === 'pull')).toBe(false);
    expect(p.tasks.flatMap((t) => t.argv.map(formatArg)).some((a) => a.includes('docker://localhost/'))).toBe(false);
    const build = byId(p, 'build:app:linux/arm64');
    expect(build?.dependsOn).toContain(there?.id);
    expect(argv(build)).toContain(
      '--build-context=localhost/base:latest=docker-image://localhost/orchestrate/pulled/localhost/base/latest:linux-arm64',
    );
  });

  it('manifest-first: the build reads local storage itself, and it is no registry pull', () => {
    const p = plan(spec, files);
    const build = byId(p, 'build:mf');
    expect(build?.kind === 'build' ? build.pulls : 'not a build').toBeUndefined();
  });

  it('manifest-first on a build host: the plan says the host must have it', () => {
    const p = plan(
      spec.replace('mf: { context: app }', 'mf: { context: app, host: arm1, platforms: [linux/arm64] }'),
      files,
    );
    expect(p.notes.join('\n')).toContain(
      "mf builds on arm1 from localhost/base:latest: a manifest-first build there takes it from arm1's own storage",
    );
  });
});
