/**
 * Base images as podman resolves them by hand, for real: a multi-platform list made in local
 * storage (podman import, manifest create/add) built FROM in both strategies, here and on a
 * build host that lacks it (sent over ssh) or has its own; a localhost/ base that exists
 * nowhere; a Docker Hub short name of an image of the spec; a tag the spec does not publish.
 * docker.io is blocked in registries.conf for every run: a name left to podman fails at once
 * instead of reaching out. Under CI=true it runs or fails.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '@multiarch/core';
import { makeLocalBaseList, pushBaseImages } from './fixture/base-images.js';
import { createBuildHostNetworks, startBuildHosts, type BuildHosts } from './fixture/build-hosts.js';
import { run, startRegistry, type Registry } from './fixture/registry.js';
import {
  checkerAuthfile,
  e2eUnavailable,
  inspectList,
  orchestrateBuild,
  readJson,
  removeScratch,
  scratch,
  startCli,
} from './harness.js';

const unavailable = e2eUnavailable();
const mustRun = process.env['CI'] === 'true';
const E2E_TIMEOUT = 15 * 60_000;

describe.skipIf(unavailable !== undefined && !mustRun)(
  'base images as podman resolves them, end to end',
  { timeout: E2E_TIMEOUT },
  () => {
    let registry: Registry;
    let farm: BuildHosts;
    let base: string;
    let authfile: string;
    let registriesConf: string;
    const localList = `localhost/orchestrate-e2e/local-base:${Date.now().toString(36)}`;
    let removeLocalList: (() => Promise<void>) | undefined;

    beforeAll(async () => {
      if (unavailable) throw new Error(unavailable);
      const work = scratch('bases');
      const networks = await createBuildHostNetworks(1);
      registry = await startRegistry(path.join(work, 'registry'), networks[0]!.gateway);
      farm = await startBuildHosts(path.join(work, 'hosts'), networks);
      base = await pushBaseImages(registry, path.join(work, 'base'), ['linux/amd64', 'linux/arm64']);
      authfile = await checkerAuthfile(registry, work);
      removeLocalList = (
        await makeLocalBaseList(path.join(work, 'local'), ['linux/amd64', 'linux/arm64', 'linux/s390x'], localList)
      ).remove;
      registriesConf = path.join(work, 'registries.conf');
      writeFileSync(
        registriesConf,
        'unqualified-search-registries = []\n[[registry]]\nlocation = "docker.io"\nblocked = true\n',
      );
    }, E2E_TIMEOUT);

    afterAll(async () => {
      await removeLocalList?.();
      await farm?.stop();
      await registry?.stop();
      removeScratch();
    });

    const hostA = () => farm.hosts[0]!;
    /** A project in namespace `ns`: the spec's lines after `images:` and each image's Containerfile. */
    const project = (
      ns: string,
      images: Record<string, { spec: string; containerfile: string }>,
      hosts = false,
    ): string => {
      const dir = scratch(ns);
      writeFileSync(
        path.join(dir, 'multiarch.yaml'),
        [
          'version: 1',
          'registries:',
          `  reg: { url: "${registry.host}/${ns}", auth: { username: "${registry.username}", passwordEnv: REG_PASSWORD } }`,
          ...(hosts
            ? [
                'hosts:',
                `  arm1: { ssh: "root@${hostA().address}", identityFile: "${farm.identityFile}", knownHosts: "${farm.knownHosts}", platforms: [linux/arm64] }`,
              ]
            : []),
          'images:',
          ...Object.entries(images).map(([name, image]) => `  ${name}: { context: ${name}, ${image.spec} }`),
          '',
        ].join('\n'),
      );
      for (const [name, image] of Object.entries(images)) {
        mkdirSync(path.join(dir, name));
        writeFileSync(path.join(dir, name, 'Containerfile'), image.containerfile);
      }
      return dir;
    };
    const envOf = () => ({ REG_PASSWORD: registry.password, CONTAINERS_REGISTRIES_CONF: registriesConf });
    const ARCH: Record<string, string> = { 'linux/amd64': 'x86_64', 'linux/arm64': 'aarch64', 'linux/s390x': 's390x' };
    /** A per-arch or manifest-first image's keys: its platforms and a smoke test of each (uname -m as that platform answers). */
    const on = (...platforms: string[]) =>
      `platforms: [${platforms.join(', ')}], test: { command: [uname, -m], expect: { ${platforms.map((p) => `${p}: ${ARCH[p]}`).join(', ')} } }`;
    const platformsOf = async (reference: string) =>
      (await inspectList(reference, authfile))?.entries.map((e) => e.platform);

    it('a local list as the base, both strategies here: each platform built FROM its own instance, published', async () => {
      const dir = project('local', {
        mf: {
          spec: on('linux/amd64', 'linux/arm64'),
          containerfile: `FROM ${localList}\nRUN echo mf > /name\n`,
        },
        pa: {
          spec: `${on('linux/amd64', 'linux/arm64', 'linux/s390x')}, strategy: per-arch`,
          containerfile: `FROM ${localList}\nRUN echo pa > /name\n`,
        },
      });
      const planned = await startCli(['plan'], { cwd: dir, env: envOf() }).done;
      expect(planned.stdout).toContain(`the linux/s390x image of ${localList} in this machine's storage`);
      expect(planned.stdout).not.toContain(`docker://${localList}`);
      const report = path.join(dir, 'report.json');
      const result = await orchestrateBuild(['--report', report], { cwd: dir, env: envOf() });
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(await platformsOf(`${registry.host}/local/mf:latest`)).toEqual(['linux/amd64', 'linux/arm64']);
      expect(await platformsOf(`${registry.host}/local/pa:latest`)).toEqual([
        'linux/amd64',
        'linux/arm64',
        'linux/s390x',
      ]);
      const tasks = readJson<RunReport>(report).tasks;
      expect(tasks.filter((t) => t.kind === 'local-base').map((t) => t.status)).toEqual([
        'succeeded',
        'succeeded',
        'succeeded',
      ]);
      // The smoke tests ran each platform's image: uname -m answered by that platform's busybox.
      expect(tasks.filter((t) => t.kind === 'test').every((t) => t.status === 'succeeded')).toBe(true);
    });

    it('on a build host without the image, the platform instance is sent from here; with its own, it is used', async () => {
      const images = {
        pa: {
          spec: `${on('linux/amd64', 'linux/arm64')}, strategy: per-arch`,
          containerfile: `FROM ${localList}\nRUN echo pa > /name\n`,
        },
      };
      const dir = project('sent', images, true);
      const report = path.join(dir, 'report.json');
      const result = await orchestrateBuild(['--report', report], { cwd: dir, env: envOf() });
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(await platformsOf(`${registry.host}/sent/pa:latest`)).toEqual(['linux/amd64', 'linux/arm64']);
      const pulled = `localhost/orchestrate/pulled/${localList.replace(/:/, '/')}:linux-arm64`;
      expect(await hostA().podman(['images', '--format', '{{.Repository}}:{{.Tag}}'])).toContain(pulled);

      // The host's own image of a name this machine does not have: used there, nothing sent.
      const hostOnly = 'localhost/orchestrate-e2e/host-only:1';
      await hostA().podman(['tag', pulled, hostOnly]);
      const own = project(
        'own',
        { pa: { spec: `${on('linux/arm64')}, strategy: per-arch`, containerfile: `FROM ${hostOnly}\n` } },
        true,
      );
      const second = await orchestrateBuild([], { cwd: own, env: envOf() });
      expect(second.code, second.stdout + second.stderr).toBe(0);
      expect(await platformsOf(`${registry.host}/own/pa:latest`)).toEqual(['linux/arm64']);

      // Neither here nor there: the host and the image are named.
      const nowhere = project(
        'nowhere-remote',
        {
          pa: {
            spec: 'platforms: [linux/arm64], strategy: per-arch',
            containerfile: 'FROM localhost/orchestrate-e2e/nowhere:1\n',
          },
        },
        true,
      );
      const failed = await orchestrateBuild([], { cwd: nowhere, env: envOf() });
      expect(failed.code).toBe(1);
      expect(failed.stdout + failed.stderr).toContain(
        "localhost/orchestrate-e2e/nowhere:1 is neither in arm1's storage nor in this machine's",
      );
    });

    it('a localhost/ base that exists nowhere stops the build before anything runs (exit 2)', async () => {
      const dir = project('nowhere', {
        app: {
          spec: 'platforms: [linux/amd64], strategy: per-arch',
          containerfile: 'FROM localhost/orchestrate-e2e/nowhere:1\n',
        },
      });
      const result = await orchestrateBuild([], { cwd: dir, env: envOf() });
      expect(result.code, result.stdout + result.stderr).toBe(2);
      expect(result.stderr).toMatch(
        /base-not-found +app builds FROM localhost\/orchestrate-e2e\/nowhere:1 is not in this machine's storage/,
      );
      expect(result.stdout).not.toMatch(/start +build/);
    });

    it('a Docker Hub short name of an image of the spec is that image: pinned, never looked up (docker.io is blocked)', async () => {
      const dir = scratch('hub');
      writeFileSync(
        path.join(dir, 'multiarch.yaml'),
        [
          'version: 1',
          'platforms: [linux/amd64, linux/arm64]',
          'registries:',
          '  hub: { url: docker.io/acme }',
          'images:',
          '  base: { context: base }',
          '  app: { context: app, strategy: per-arch }',
          '  tool: { context: tool }',
          '',
        ].join('\n'),
      );
      for (const [name, containerfile] of Object.entries({
        base: `FROM ${base}\nRUN echo built-by-this-run > /marker\n`,
        app: 'FROM acme/base:latest\nRUN grep built-by-this-run /marker\n',
        tool: 'FROM index.docker.io/acme/base\nRUN grep built-by-this-run /marker\n',
      })) {
        mkdirSync(path.join(dir, name));
        writeFileSync(path.join(dir, name, 'Containerfile'), containerfile);
      }
      const result = await orchestrateBuild(['--no-push'], {
        cwd: dir,
        env: { ...envOf(), REGISTRY_AUTH_FILE: authfile },
      });
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(result.stderr).not.toContain('short-name-from');
    });

    it("a tag the spec does not publish names the image in the registry, not this run's build", async () => {
      await run('skopeo', [
        'copy',
        '--all',
        '--authfile',
        authfile,
        `docker://${base}`,
        `docker://${registry.host}/pinned/base:1.0`,
      ]);
      const dir = project('pinned', {
        base: {
          spec: 'platforms: [linux/amd64], tags: ["2.0"]',
          containerfile: `FROM ${base}\nRUN echo run > /built-by-run\n`,
        },
        app: {
          spec: 'platforms: [linux/amd64], strategy: per-arch',
          containerfile: `FROM ${registry.host}/pinned/base:1.0\nRUN test ! -e /built-by-run\n`,
        },
      });
      const planned = await startCli(['plan'], { cwd: dir, env: envOf() }).done;
      expect(planned.stdout).toContain(`names tag "1.0", which this spec does not publish "base" under (2.0)`);
      const result = await orchestrateBuild([], { cwd: dir, env: { ...envOf(), REGISTRY_AUTH_FILE: authfile } });
      expect(result.code, result.stdout + result.stderr).toBe(0);
    });
  },
);
