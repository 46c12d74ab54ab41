/**
 * Runs after runs, for real: a rebuild after a Containerfile change (both strategies), an
 * unchanged rebuild publishing the same list digest, two runs of one spec at once, a run
 * killed with SIGKILL and the next one sweeping what it left, a registry that goes silent,
 * and a reader of our output that goes away (`| head`). Under CI=true it runs or fails.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '@multiarch/core';
import { pushBaseImages } from './fixture/base-images.js';
import { startFaultProxy, type FaultProxy } from './fixture/fault-proxy.js';
import { startRegistry, type Registry } from './fixture/registry.js';
import { BIN } from '../paths.js';
import {
  checkerAuthfile,
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
  'reruns and faults mid-run, end to end',
  { timeout: E2E_TIMEOUT },
  () => {
    let registry: Registry;
    let base: string;
    let authfile: string;

    beforeAll(async () => {
      if (unavailable) throw new Error(unavailable);
      const work = scratch('reruns');
      registry = await startRegistry(path.join(work, 'registry'));
      base = await pushBaseImages(registry, path.join(work, 'base'), ['linux/amd64', 'linux/arm64']);
      authfile = await checkerAuthfile(registry, work);
    }, E2E_TIMEOUT);

    afterAll(async () => {
      await registry?.stop();
      removeScratch();
    });

    /** A project of one manifest-first image and one per-arch image, in namespace `ns` of the registry. */
    const project = (ns: string, registryHost = registry.host): string => {
      const dir = scratch(ns);
      writeFileSync(
        path.join(dir, 'multiarch.yaml'),
        [
          'version: 1',
          'platforms: [linux/amd64, linux/arm64]',
          'registries:',
          `  reg: { url: "${registryHost}/${ns}", auth: { username: "${registry.username}", passwordEnv: REG_PASSWORD } }`,
          'images:',
          '  mf: { context: mf, tags: [latest] }',
          '  pa: { context: pa, strategy: per-arch, tags: [latest] }',
          '',
        ].join('\n'),
      );
      for (const name of ['mf', 'pa']) {
        mkdirSync(path.join(dir, name));
        // amd64 (native) slower than arm64 (QEMU): podman adds it to the list last, so the list must be put in order.
        writeFileSync(
          path.join(dir, name, 'Containerfile'),
          `FROM ${base}\nRUN echo ${name} > /name\nRUN [ "$(uname -m)" = x86_64 ] && sleep 4 || true\n`,
        );
      }
      mkdirSync(path.join(dir, 'tmp'));
      return dir;
    };
    const env = (dir: string): Record<string, string> => ({
      REG_PASSWORD: registry.password,
      TMPDIR: path.join(dir, 'tmp'),
    });
    const lists = async (ns: string) => ({
      mf: await inspectList(`${registry.host}/${ns}/mf:latest`, authfile),
      pa: await inspectList(`${registry.host}/${ns}/pa:latest`, authfile),
    });
    const platformsOf = (list: Awaited<ReturnType<typeof inspectList>>) => list?.entries.map((e) => e.platform);

    it('rebuilds after a Containerfile change, both strategies: a fresh list each time, never appended to', async () => {
      const dir = project('change');
      const report = path.join(dir, 'report.json');
      const first = await orchestrateBuild(['--report', report], { cwd: dir, env: env(dir) });
      expect(first.code, first.stdout + first.stderr).toBe(0);
      // Built in the order the platforms finished (arm64 first), published in platform order: real podman reordered it.
      expect(readJson<RunReport>(report).tasks.find((t) => t.id === 'build:mf')?.note).toBe(
        'list entries put in platform order',
      );
      const before = await lists('change');

      // Unchanged: the same images (build cache), so the same lists, byte for byte, entries in platform order.
      const same = await orchestrateBuild([], { cwd: dir, env: env(dir) });
      expect(same.code, same.stdout + same.stderr).toBe(0);
      const unchanged = await lists('change');
      expect(unchanged.mf?.digest).toBe(before.mf?.digest);
      expect(unchanged.pa?.digest).toBe(before.pa?.digest);

      for (const name of ['mf', 'pa'])
        appendFileSync(path.join(dir, name, 'Containerfile'), 'RUN echo changed > /changed\n');
      const changed = await orchestrateBuild([], { cwd: dir, env: env(dir) });
      expect(changed.code, changed.stdout + changed.stderr).toBe(0);
      const after = await lists('change');
      for (const name of ['mf', 'pa'] as const) {
        expect(platformsOf(after[name]), name).toEqual(['linux/amd64', 'linux/arm64']);
        expect(after[name]?.digest, name).not.toBe(before[name]?.digest);
      }
      // And again after the change: the list from the last run is removed, not grown.
      const again = await orchestrateBuild([], { cwd: dir, env: env(dir) });
      expect(again.code, again.stdout + again.stderr).toBe(0);
      expect(platformsOf((await lists('change')).mf)).toEqual(['linux/amd64', 'linux/arm64']);
    });

    it('build --plan runs a plan saved by `plan --format json`, exactly: the same tasks, published', async () => {
      const dir = project('saved');
      const planned = await startCli(['plan', '--format', 'json'], { cwd: dir, env: env(dir) }).done;
      expect(planned.code, planned.stderr).toBe(0);
      writeFileSync(path.join(dir, 'plan.json'), planned.stdout);
      const report = path.join(dir, 'report.json');
      const result = await orchestrateBuild(['--plan', 'plan.json', '--report', report], { cwd: dir, env: env(dir) });
      expect(result.code, result.stdout + result.stderr).toBe(0);
      const plan = JSON.parse(planned.stdout) as { tasks: { id: string }[] };
      expect(readJson<RunReport>(report).tasks.map((t) => t.id)).toEqual(plan.tasks.map((t) => t.id));
      expect(platformsOf((await lists('saved')).pa)).toEqual(['linux/amd64', 'linux/arm64']);
    });

    it('two runs of one spec at once: the second waits for the first, both publish whole lists', async () => {
      const dir = project('twice');
      const a = startCli(['build'], { cwd: dir, env: env(dir) });
      await a.waitFor(/start +build:mf/);
      const b = startCli(['build'], { cwd: dir, env: env(dir) });
      const [ra, rb] = await Promise.all([a.done, b.done]);
      expect(ra.code, a.output()).toBe(0);
      expect(rb.code, b.output()).toBe(0);
      expect(b.output()).toMatch(
        /note +waiting for run \S+ of multiarch.yaml \(pid \d+\): it builds the local list .*\/twice\/mf:latest too/,
      );
      expect(platformsOf((await lists('twice')).mf)).toEqual(['linux/amd64', 'linux/arm64']);
    });

    it('a run killed with SIGKILL leaves its directory with the authfile; the next run removes it and says so', async () => {
      const dir = project('killed');
      const marker = `orchestrate-kill9-${Date.now()}`;
      writeFileSync(
        path.join(dir, 'mf', 'Containerfile'),
        `FROM ${base}\nRUN echo ${marker} | tr a-z A-Z && sleep 3\n`,
      );
      const cli = startCli(['build'], { cwd: dir, env: env(dir) });
      await cli.waitFor(new RegExp(marker.toUpperCase()));
      cli.signal('SIGKILL');
      await cli.done;
      const left = readdirSync(path.join(dir, 'tmp')).filter((e) => e.startsWith('orchestrate-run-'));
      expect(left).toHaveLength(1);
      expect(existsSync(path.join(dir, 'tmp', left[0]!, 'auth.json'))).toBe(true);
      // The orphaned podman finishes its RUN step on its own.
      for (let i = 0; i < 100 && processesMatching(marker).length > 0; i++)
        await new Promise((r) => setTimeout(r, 200));

      const next = await orchestrateBuild([], { cwd: dir, env: env(dir) });
      expect(next.code, next.stdout + next.stderr).toBe(0);
      expect(next.stdout).toContain(
        `removed the directory of a run that died before its cleanup (with its authfile): ${path.join(dir, 'tmp', left[0]!)}`,
      );
      expect(readdirSync(path.join(dir, 'tmp')).filter((e) => e.startsWith('orchestrate-run-'))).toEqual([]);
    });

    describe('a registry that goes silent', () => {
      let proxy: FaultProxy;
      beforeAll(async () => {
        proxy = await startFaultProxy(registry);
      });
      afterAll(async () => {
        await proxy?.stop();
      });

      it('a read of the staged list that gets headers and then nothing is stopped after --registry-timeout, retried, and published', async () => {
        const dir = project('silent', proxy.host);
        proxy.stallNext(1, { methods: ['GET'], pathPattern: /^\/v2\/silent\/mf\/manifests\/sha256:/ });
        const report = path.join(dir, 'report.json');
        const started = Date.now();
        const result = await orchestrateBuild(['--registry-timeout', '3s', '--report', report, '--image', 'mf'], {
          cwd: dir,
          env: { ...env(dir), REGISTRY_AUTH_FILE: authfile },
        });
        expect(result.code, result.stdout + result.stderr).toBe(0);
        expect(Date.now() - started).toBeLessThan(120_000);
        expect(proxy.requests.filter((r) => r.status === 0)).toHaveLength(1);
        expect(result.stdout).toMatch(/retry verify:mf@reg in [\d.]+s \(retry 1\): no answer: nothing moved for 3s/);
        expect(readJson<RunReport>(report).tasks.find((t) => t.id === 'verify:mf@reg')).toMatchObject({
          status: 'succeeded',
          retries: 1,
        });
      });
    });

    it('`orchestrate build | head -1`: no EPIPE stack, the run winds down and cleans up', async () => {
      const dir = project('pipe');
      const stderrFile = path.join(dir, 'stderr.txt');
      const code = await new Promise<number>((resolve) => {
        const child = spawn(
          'sh',
          ['-c', `"${process.execPath}" "${BIN}" build 2>"${stderrFile}" | head -1 >"${stderrFile}.head"`],
          {
            cwd: dir,
            env: {
              PATH: process.env['PATH'] ?? '',
              HOME: process.env['HOME'] ?? '/root',
              NO_COLOR: '1',
              CI: 'true',
              ...env(dir),
            },
            stdio: 'ignore',
          },
        );
        child.on('close', (status) => resolve(status ?? 1));
      });
      // sh waits for every command of the pipeline: orchestrate has ended too, on its own, after head went.
      expect(code).toBe(0);
      expect(readFileSync(`${stderrFile}.head`, 'utf8')).toMatch(/^\d\d:\d\d:\d\d run \S+: \d+ tasks for 2 images/);
      const stderr = readFileSync(stderrFile, 'utf8');
      expect(stderr).not.toMatch(/EPIPE|internal error|at .*\.js:\d+/);
      expect(readdirSync(path.join(dir, 'tmp')).filter((e) => e.startsWith('orchestrate-run-'))).toEqual([]);
    });
  },
);
