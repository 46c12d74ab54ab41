/**
 * `orchestrate build` for real: podman, a real registry (docker-registry, TLS, htpasswd)
 * on loopback, multi-arch base images made offline, QEMU for the foreign platforms.
 * Under CI=true this suite runs or fails; it never skips.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '@multiarch/core';
import { pushBaseImages } from './fixture/base-images.js';
import { startFaultProxy, type FaultProxy } from './fixture/fault-proxy.js';
import { run, startRegistry, type Registry } from './fixture/registry.js';
import { REPO } from '../paths.js';
import {
  checkerAuthfile,
  copyExample,
  e2eUnavailable,
  inspectList,
  orchestrateBuild,
  processesMatching,
  readJson,
  removeScratch,
  scratch,
  startCli,
} from './harness.js';

const unavailable = e2eUnavailable();
const mustRun = process.env['CI'] === 'true';
const E2E_TIMEOUT = 15 * 60_000;

describe.skipIf(unavailable !== undefined && !mustRun)(
  'orchestrate build, end to end',
  { timeout: E2E_TIMEOUT },
  () => {
    let registry: Registry;
    let base: string;
    let work: string;
    let authfile: string;
    const tag = `e2e-${Date.now().toString(36)}`;

    beforeAll(async () => {
      if (unavailable) throw new Error(unavailable);
      work = scratch('build');
      registry = await startRegistry(path.join(work, 'registry'));
      base = await pushBaseImages(registry, path.join(work, 'base'), ['linux/amd64', 'linux/arm64', 'linux/s390x']);
      authfile = await checkerAuthfile(registry, work);
    }, E2E_TIMEOUT);

    afterAll(async () => {
      await registry?.stop();
      removeScratch();
    });

    const helloEnv = (overrides: Record<string, string> = {}): Record<string, string> => ({
      REGISTRY: registry.host,
      REGISTRY_USER: registry.username,
      REGISTRY_PASSWORD: registry.password,
      BASE_IMAGE: base,
      GIT_SHA: tag,
      ...overrides,
    });

    it('builds hello manifest-first: both platforms published with the digests built, the password nowhere', async () => {
      const dir = copyExample('hello', scratch('hello'));
      const report = path.join(dir, 'report.json');
      const cli = startCli(['build', '--report', report], { cwd: dir, env: helloEnv() });
      // Watch every process's argv while the build runs: the password must never be in one.
      const seen: string[] = [];
      const watcher = setInterval(() => seen.push(...processesMatching(registry.password)), 100);
      const result = await cli.done;
      clearInterval(watcher);
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(seen).toEqual([]);
      expect(result.stdout + result.stderr).not.toContain(registry.password);

      const written = readJson<RunReport>(report);
      expect(JSON.stringify(written)).not.toContain(registry.password);
      expect(written.status).toBe('succeeded');
      expect(written.images['hello']).toMatchObject({
        status: 'published',
        published: [`${registry.host}/examples/hello:${tag}`, `${registry.host}/examples/hello:latest`],
      });
      for (const reference of written.images['hello']!.published) {
        const list = await inspectList(reference, authfile);
        expect(list?.digest).toBe(written.images['hello']!.digest);
        expect(list?.entries.map((e) => e.platform).sort()).toEqual(['linux/amd64', 'linux/arm64']);
      }
      // Every task is in the report with its times; smoke tests ran per platform under the right arch.
      expect(
        written.tasks.every((t) => t.status === 'succeeded' && t.start !== undefined && t.durationMs !== undefined),
      ).toBe(true);
      for (const [platform, arch] of [
        ['linux/amd64', 'x86_64'],
        ['linux/arm64', 'aarch64'],
      ] as const) {
        const ran = await run('podman', [
          'run',
          '--rm',
          '--pull=always',
          '--authfile',
          authfile,
          '--platform',
          platform,
          `${registry.host}/examples/hello:${tag}`,
          'uname',
          '-m',
        ]);
        expect(ran.stdout.trim()).toBe(arch);
      }
      // A second run is a run like the first: same tags, verified again.
      const again = await orchestrateBuild([], { cwd: dir, env: helloEnv() });
      expect(again.code, again.stdout + again.stderr).toBe(0);
    });

    it('builds hello per-arch: each platform pushed by digest, the list assembled from those digests', async () => {
      const dir = copyExample('hello', scratch('per-arch'));
      const spec = path.join(dir, 'multiarch.yaml');
      writeFileSync(spec, readFileSync(spec, 'utf8').replace('strategy: manifest-first', 'strategy: per-arch'));
      const report = path.join(dir, 'report.json');
      const result = await orchestrateBuild(['--report', report], {
        cwd: dir,
        env: helloEnv({ GIT_SHA: `${tag}-pa` }),
      });
      expect(result.code, result.stdout + result.stderr).toBe(0);
      const written = readJson<RunReport>(report);
      const pushed = new Map(written.tasks.filter((t) => t.kind === 'push').map((t) => [t.platforms[0], t.digest]));
      expect(pushed.size).toBe(2);
      const list = await inspectList(`${registry.host}/examples/hello:${tag}-pa`, authfile);
      for (const entry of list!.entries) expect(entry.digest).toBe(pushed.get(entry.platform));
      // No shared arch tag: the per-arch pushes went to tags unique to this run.
      const push = written.tasks.find((t) => t.id === 'push:hello:linux/arm64');
      expect(push?.argv?.at(-1)).toBe(
        `docker://${registry.host}/examples/hello:orchestrate-stage-linux-arm64-${written.runId}`,
      );
    });

    it('builds the monorepo: dependencies from this run, for the right platform', async () => {
      const dir = path.join(REPO, 'examples', 'monorepo');
      const report = path.join(work, 'monorepo-report.json');
      const env = {
        INTERNAL_REGISTRY: registry.host,
        PUBLIC_REGISTRY: `${registry.host}/public`,
        REGISTRY_USER: registry.username,
        INTERNAL_TOKEN: registry.password,
        PUBLIC_TOKEN: registry.password,
        BASE_IMAGE: base,
        GIT_SHA: tag,
      };
      const result = await orchestrateBuild(['--report', report], { cwd: dir, env });
      expect(result.code, result.stdout + result.stderr).toBe(0);
      const written = readJson<RunReport>(report);
      expect(Object.values(written.images).map((i) => i.status)).toEqual(Array(7).fill('published'));
      const tools = await inspectList(`${registry.host}/acme/tools:${tag}`, authfile);
      expect(tools?.entries.map((e) => e.platform).sort()).toEqual(['linux/amd64', 'linux/arm64', 'linux/s390x']);
      // runtime is FROM base: each platform of runtime has the base built in this run for that platform.
      for (const [platform, arch] of [
        ['linux/amd64', 'x86_64'],
        ['linux/arm64', 'aarch64'],
      ] as const) {
        const ran = await run('podman', [
          'run',
          '--rm',
          '--pull=always',
          '--authfile',
          authfile,
          '--platform',
          platform,
          `${registry.host}/acme/worker:${tag}`,
          'sh',
          '-c',
          'cat /etc/acme-base; sh /opt/tools/healthcheck; uname -m',
        ]);
        expect(ran.stdout.split('\n')).toEqual([`acme base ${arch}`, 'ok', arch, '']);
      }
      // The caps held: never more tasks at once than --jobs, nor builds and tests than the host's jobs (its cores).
      expect(written.peak.total).toBeLessThanOrEqual(written.jobs);
      expect(written.peak.hosts['local']).toBeLessThanOrEqual(availableParallelism());
    });

    /** A two-platform spec pushing to REGISTRY/namespace, password in REG_PASSWORD, with these image lines. */
    const writeSpec = (dir: string, namespace: string, images: string[]): void =>
      writeFileSync(
        path.join(dir, 'multiarch.yaml'),
        [
          'version: 1',
          'platforms: [linux/amd64, linux/arm64]',
          'registries:',
          `  reg: { url: "${registry.host}/${namespace}", auth: { username: "${registry.username}", passwordEnv: REG_PASSWORD } }`,
          'images:',
          ...images.map((line) => `  ${line}`),
          '',
        ].join('\n'),
      );

    describe('a broken Containerfile', () => {
      let dir: string;
      const project = (broken: boolean): void => {
        writeSpec(dir, 'broken', [
          'bad: { context: bad, tags: [stable] }',
          'good: { context: good, tags: ["${TAG}"] }',
        ]);
        for (const name of ['bad', 'good']) mkdirSync(path.join(dir, name), { recursive: true });
        writeFileSync(path.join(dir, 'good', 'Containerfile'), `FROM ${base}\nRUN echo good > /good\n`);
        // Broken on arm64 only: amd64 builds, so a half list exists and must not be published.
        writeFileSync(
          path.join(dir, 'bad', 'Containerfile'),
          `FROM ${base}\nRUN echo "${broken ? 'v2' : 'v1'}" > /v\n${broken ? 'RUN [ "$(uname -m)" != aarch64 ] || exit 3\n' : ''}`,
        );
      };

      beforeAll(async () => {
        dir = scratch('broken');
        project(false);
        const first = await orchestrateBuild([], { cwd: dir, env: { REG_PASSWORD: registry.password, TAG: 'first' } });
        expect(first.code, first.stdout + first.stderr).toBe(0);
        project(true);
      }, E2E_TIMEOUT);

      it('stops starting tasks without --keep-going, and the failed image keeps its tag', async () => {
        const before = await inspectList(`${registry.host}/broken/bad:stable`, authfile);
        const report = path.join(dir, 'stop.json');
        const result = await orchestrateBuild(['--jobs', '1', '--report', report], {
          cwd: dir,
          env: { REG_PASSWORD: registry.password, TAG: 'stop' },
        });
        expect(result.code).toBe(1);
        expect(result.stdout).toMatch(/FAIL {2}build:bad .*exit status 3/);
        const written = readJson<RunReport>(report);
        expect(written.tasks.some((t) => t.failure?.reason === 'run-stopped')).toBe(true);
        expect(written.images['bad']?.status).toBe('failed');
        expect(written.images['good']?.status).not.toBe('published');
        expect((await inspectList(`${registry.host}/broken/bad:stable`, authfile))?.digest).toBe(before?.digest);
        expect(await inspectList(`${registry.host}/broken/good:stop`, authfile)).toBeUndefined();
      });

      it('publishes the other images with --keep-going, and still exits 1', async () => {
        const before = await inspectList(`${registry.host}/broken/bad:stable`, authfile);
        const result = await orchestrateBuild(['--keep-going'], {
          cwd: dir,
          env: { REG_PASSWORD: registry.password, TAG: 'kept' },
        });
        expect(result.code).toBe(1);
        expect((await inspectList(`${registry.host}/broken/good:kept`, authfile))?.entries).toHaveLength(2);
        expect((await inspectList(`${registry.host}/broken/bad:stable`, authfile))?.digest).toBe(before?.digest);
      });
    });

    it('a wrong password: a clear error, exit 1, the password nowhere', async () => {
      const dir = copyExample('hello', scratch('password'));
      const wrong = `wrong-${Date.now()}-PASSWORD`;
      const report = path.join(dir, 'report.json');
      const result = await orchestrateBuild(['--report', report], {
        cwd: dir,
        env: helloEnv({ REGISTRY_PASSWORD: wrong }),
      });
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/FAIL {2}login:local@local/);
      expect(result.stdout).toContain('check the username and the password variable');
      const everything = result.stdout + result.stderr + JSON.stringify(readJson(report));
      expect(everything).not.toContain(wrong);
    });

    describe('a registry that fails for a while', () => {
      let proxy: FaultProxy;
      beforeAll(async () => {
        proxy = await startFaultProxy(registry);
      });
      afterAll(async () => {
        await proxy?.stop();
      });

      it('answers 500 and 429 (Retry-After), then recovers: retried with backoff, published', async () => {
        const dir = copyExample('hello', scratch('faults'));
        const report = path.join(dir, 'report.json');
        // Uploads of the staged list fail first (podman does not retry a 500), then reads of it
        // are rate-limited: skopeo itself retries a 429 four times, honouring Retry-After; the
        // sixth 429 is the one our probe (a GET of the same manifest) reads, so our retry must wait its 2 s too (our own
        // first backoff is 0.5-1 s).
        proxy.failNext(3, 500, { methods: ['PUT'], pathPattern: /\/manifests\// });
        proxy.failNext(6, 429, {
          retryAfterSeconds: 2,
          methods: ['GET'],
          pathPattern: /^\/v2\/examples\/hello\/manifests\/sha256:/,
        });
        // The base image comes from the registry itself, with the credentials the user already has.
        const result = await orchestrateBuild(['--report', report], {
          cwd: dir,
          env: helloEnv({ REGISTRY: proxy.host, GIT_SHA: `${tag}-faults`, REGISTRY_AUTH_FILE: authfile }),
        });
        expect(result.code, result.stdout + result.stderr).toBe(0);
        expect(proxy.requests.filter((r) => r.status === 500)).toHaveLength(3);
        expect(proxy.requests.filter((r) => r.status === 429)).toHaveLength(6);
        const written = readJson<RunReport>(report);
        expect(written.tasks.reduce((sum, t) => sum + t.retries, 0)).toBeGreaterThan(0);
        // Retry-After was honoured by the retry that followed a 429.
        const waits = [
          ...result.stdout.matchAll(/retry verify:hello@local in ([\d.]+)s \(retry \d+\): .*(?:429|too ?many)/gi),
        ].map((m) => Number(m[1]));
        expect(waits.length).toBeGreaterThan(0);
        expect(Math.min(...waits)).toBeGreaterThanOrEqual(2);
        expect((await inspectList(`${registry.host}/examples/hello:${tag}-faults`, authfile))?.entries).toHaveLength(2);
        // The user's own authfile was read, never written.
        expect(readFileSync(authfile, 'utf8')).not.toContain(proxy.host);
      });
    });

    it('Ctrl-C mid-build: exit 130, no podman left, nothing published', async () => {
      const dir = scratch('sigint');
      writeSpec(dir, 'sigint', ['slow: { context: ., tags: [latest] }']);
      const marker = `orchestrate-sigint-${Date.now()}`;
      // The marker is printed upper-case by the RUN step itself: seeing it means the container runs.
      writeFileSync(path.join(dir, 'Containerfile'), `FROM ${base}\nRUN echo ${marker} | tr a-z A-Z && sleep 120\n`);
      const report = path.join(dir, 'report.json');
      const cli = startCli(['build', '--report', report], { cwd: dir, env: { REG_PASSWORD: registry.password } });
      await cli.waitFor(new RegExp(marker.toUpperCase()));
      cli.signal('SIGINT');
      const result = await cli.done;
      expect(result.code, cli.output()).toBe(130);
      expect(processesMatching('sleep 120')).toEqual([]);
      expect(processesMatching(`${registry.host}/sigint`)).toEqual([]);
      expect(processesMatching(marker)).toEqual([]);
      expect(readJson<RunReport>(report).status).toBe('interrupted');
      expect(await inspectList(`${registry.host}/sigint/slow:latest`, authfile)).toBeUndefined();
    });
  },
);
