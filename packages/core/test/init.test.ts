import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { analyzeLayout, imageNameFrom, isContainerfileName, type FoundContainerfile } from '../src/init/layout.js';
import { platformsOfManifestList } from '../src/init/platforms.js';
import { writeInitSpec } from '../src/init/write.js';
import { analyzeSource } from '../src/analyze.js';
import { parseYamlSpec } from '../src/config/source.js';
import { memoryFiles } from './helpers.js';

const files = (entries: Record<string, string>): FoundContainerfile[] =>
  Object.entries(entries).map(([path, text]) => ({ path, text }));

/** init's text, then the analyzer on it with the same files: what `orchestrate plan` would see. */
function initThenAnalyze(entries: Record<string, string>, basePlatforms?: Map<string, string[]>) {
  const spec = writeInitSpec(analyzeLayout(files(entries), 'project'), basePlatforms ? { basePlatforms } : {});
  const parsed = parseYamlSpec('multiarch.yaml', spec.text);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.diagnostics));
  // Only the files init saw: a Dockerfile must be found as the planner finds it.
  const analysis = analyzeSource(parsed.value, {
    env: {},
    localPlatform: 'linux/amd64',
    localJobs: 2,
    files: memoryFiles(entries),
  });
  const errors = analysis.diagnostics.filter((d) => d.severity === 'error');
  if (!analysis.ok || errors.length > 0) throw new Error(`${spec.text}\n${JSON.stringify(errors, null, 2)}`);
  const model = analysis.value.model;
  const images = Object.fromEntries(model.images.map((i) => [i.name, i]));
  return { spec, images, data: parse(spec.text) as Record<string, unknown> };
}

// SeleniumHQ/docker-selenium's layout, trimmed: CamelCase folders, Docker Hub short names through ARGs.
const SELENIUM = {
  'Base/Dockerfile': 'FROM ubuntu:noble-20240904.1\n',
  'NodeBase/Dockerfile': 'ARG NAMESPACE=selenium\nARG VERSION=latest\nFROM ${NAMESPACE}/base:${VERSION}\n',
  'NodeChrome/Dockerfile': 'ARG NAMESPACE=selenium\nARG VERSION=latest\nFROM ${NAMESPACE}/node-base:${VERSION}\n',
  'SessionQueue/Dockerfile': 'ARG NAMESPACE=selenium\nARG VERSION=latest\nFROM ${NAMESPACE}/base:${VERSION}\n',
  'Standalone/Dockerfile':
    'ARG NAMESPACE=selenium\nARG VERSION=latest\nARG BASE=node-base\nFROM ${NAMESPACE}/${BASE}:${VERSION}\n',
  'Video/Dockerfile': 'ARG NAMESPACE=linuxserver\nARG BASED_TAG=latest\nFROM $NAMESPACE/ffmpeg:$BASED_TAG\n',
};

describe('orchestrate init, the pure part', () => {
  it('takes the registry and repository names the FROM lines use, so the planner infers every dependency', () => {
    const { images, data, spec } = initThenAnalyze(SELENIUM);
    expect(Object.keys(images)).toEqual(['base', 'node-base', 'node-chrome', 'session-queue', 'standalone', 'video']);
    expect(images['node-chrome']?.dependsOn).toEqual(['node-base']);
    expect(images['node-base']?.dependsOn).toEqual(['base']);
    expect(images['standalone']?.dependsOn).toEqual(['node-base']);
    expect(images['session-queue']?.dependsOn).toEqual(['base']);
    expect(images['video']?.dependsOn).toEqual([]);
    expect(data['registries']).toEqual({
      dockerhub: {
        url: 'docker.io/selenium',
        auth: { username: '${DOCKERHUB_USER:-selenium}', passwordEnv: 'DOCKERHUB_TOKEN' },
      },
    });
    expect(spec.text).not.toContain('dependsOn');
    // The contexts are the folders, as written.
    expect(images['node-base']?.context).toBe('NodeBase');
  });

  it('reads ARG-built references to a registry path (ARG OWNER=acme, FROM quay.io/$OWNER/base)', () => {
    const { images, data } = initThenAnalyze({
      'images/base/Containerfile': 'FROM docker.io/library/alpine:3.20\n',
      'images/app/Containerfile': 'ARG OWNER=acme\nARG IMAGE=base\nFROM quay.io/$OWNER/${IMAGE}:2.0\n',
      'images/app/cuda/Containerfile': 'FROM quay.io/acme/app\n',
    });
    expect(images['app']?.dependsOn).toEqual(['base']);
    expect(images['app-cuda']?.dependsOn).toEqual(['app']);
    expect((data['registries'] as Record<string, { url: string }>)['quay']?.url).toBe('quay.io/acme');
  });

  it('without a FROM naming a sibling through a registry, writes no registry and says how to add one', () => {
    const { images, data, spec } = initThenAnalyze({
      'base/Dockerfile': 'FROM docker.io/library/busybox\n',
      'app/Dockerfile': 'FROM localhost/base\n',
    });
    expect(images['app']?.dependsOn).toEqual(['base']);
    expect(data['registries']).toBeUndefined();
    expect(spec.text).toContain('passwordEnv: REGISTRY_TOKEN');
    expect(spec.text.startsWith('# yaml-language-server: $schema=')).toBe(true);
  });

  it('names images the schema accepts, one each, whatever the folders are called', () => {
    const layout = analyzeLayout(
      files({
        Dockerfile: 'FROM docker.io/library/busybox\n',
        'a/api/Dockerfile': 'FROM docker.io/library/busybox\n',
        'b/api/Dockerfile': 'FROM docker.io/library/busybox\n',
        'b/api/Dockerfile.dev': 'FROM docker.io/library/busybox\n',
        'c/My Service!/Containerfile': 'FROM docker.io/library/busybox\n',
        'c/My Service!/Dockerfile': 'FROM docker.io/library/busybox\n',
        'dockerfiles/r-ver_4.4.1.Dockerfile': 'FROM docker.io/library/ubuntu\n',
      }),
      'My_Project',
    );
    expect(layout.images.map((i) => [i.name, i.context, i.containerfile])).toEqual([
      ['my_project', '.', undefined],
      ['api', 'a/api', undefined],
      ['b-api', 'b/api', undefined],
      ['api-dev', 'b/api', 'Dockerfile.dev'],
      ['my-service', 'c/My Service!', undefined],
      ['my-service-dockerfile', 'c/My Service!', 'Dockerfile'],
      ['r-ver_4.4.1', 'dockerfiles', 'r-ver_4.4.1.Dockerfile'],
    ]);
    expect(imageNameFrom('NodeBase')).toBe('node-base');
    expect(imageNameFrom('customCACert')).toBe('custom-ca-cert');
    expect(imageNameFrom('--')).toBe('image');
  });

  it('finds Containerfiles and their variants, not their companions or templates', () => {
    for (const name of [
      'Containerfile',
      'Dockerfile',
      'Dockerfile.dev',
      'Containerfile.cuda',
      'x.Dockerfile',
      'x.dockerfile',
    ])
      expect(isContainerfileName(name)).toBe(true);
    for (const name of [
      'Dockerfile.dockerignore',
      'Dockerfile.template',
      'README.md',
      'dockerfile-lint.yml',
      'Dockerfiles',
    ])
      expect(isContainerfileName(name)).toBe(false);
  });

  it("takes platforms from the base images' lists, narrowed along FROM chains", () => {
    const entries = {
      'base/Containerfile': 'FROM docker.io/library/alpine:3.20\n',
      'app/Containerfile': 'FROM localhost/base\n',
      'tool/Containerfile': 'FROM docker.io/library/alpine:3.20\nFROM quay.io/x/amd64-only AS build\n',
      'other/Containerfile': 'FROM quay.io/x/unknown\n',
    };
    const { images, data } = initThenAnalyze(
      entries,
      new Map([
        ['docker.io/library/alpine:3.20', ['linux/amd64', 'linux/arm64', 'linux/s390x']],
        ['quay.io/x/amd64-only', ['linux/amd64']],
      ]),
    );
    expect(data['platforms']).toEqual(['linux/amd64', 'linux/arm64', 'linux/s390x']);
    expect(images['app']?.platforms).toEqual(['linux/amd64', 'linux/arm64', 'linux/s390x']);
    expect(images['tool']?.platforms).toEqual(['linux/amd64']);
    // A base no list was found for says nothing: the default.
    expect(images['other']?.platforms).toEqual(['linux/amd64', 'linux/arm64']);
  });

  it('reads manifest lists as skopeo and podman print them', () => {
    const list = {
      manifests: [
        { platform: { os: 'linux', architecture: 'amd64' } },
        { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
        { platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
        { platform: { os: 'unknown', architecture: 'unknown' } },
        { platform: { os: 'windows', architecture: 'amd64' } },
      ],
    };
    expect(platformsOfManifestList(JSON.stringify(list))).toEqual(['linux/amd64', 'linux/arm64', 'linux/arm/v7']);
    expect(platformsOfManifestList('{"schemaVersion":2,"layers":[]}')).toBeUndefined();
    expect(platformsOfManifestList('not json')).toBeUndefined();
  });
});
