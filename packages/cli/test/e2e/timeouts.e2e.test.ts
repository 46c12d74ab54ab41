/**
 * `timeout:` and `build --timeout`, for real: a Containerfile's `RUN sleep` and a smoke test
 * that sleeps, each with `timeout: 5s`, here and on a build host (a network namespace with
 * sshd), stopped in bounded time with reason `timeout`, and nothing of them left running:
 * no sleep, no podman session on the host, no test container. The base is a list in local
 * storage (sent to the host over ssh), so nothing is pulled from anywhere. Under CI=true it
 * runs or fails.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '@multiarch/core';
import { makeLocalBaseList } from './fixture/base-images.js';
import { createBuildHostNetworks, startBuildHosts, type BuildHosts } from './fixture/build-hosts.js';
import { run } from './fixture/registry.js';
import { e2eUnavailable, processesMatching, readJson, removeScratch, scratch, startCli } from './harness.js';

const unavailable = e2eUnavailable();
const mustRun = process.env['CI'] === 'true';
const E2E_TIMEOUT = 10 * 60_000;
/** 5s of timeout, the runner's 5s grace before SIGKILL, and podman's own start and stop: far below the 300s sleep. */
const BOUND_MS = 45_000;

describe.skipIf(unavailable !== undefined && !mustRun)('timeouts, end to end', { timeout: E2E_TIMEOUT }, () => {
  let farm: BuildHosts;
  let registriesConf: string;
  const baseList = `localhost/orchestrate-e2e/timeout-base:${Date.now().toString(36)}`;
  let removeBase: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    if (unavailable) throw new Error(unavailable);
    const work = scratch('timeouts');
    const networks = await createBuildHostNetworks(1);
    farm = await startBuildHosts(path.join(work, 'hosts'), networks);
    removeBase = (await makeLocalBaseList(path.join(work, 'base'), ['linux/amd64'], baseList)).remove;
    // Nothing here names a registry; should a name slip through, podman fails at once instead of reaching out.
    registriesConf = path.join(work, 'registries.conf');
    writeFileSync(
      registriesConf,
      'unqualified-search-registries = []\n[[registry]]\nlocation = "docker.io"\nblocked = true\n',
    );
  }, E2E_TIMEOUT);

  afterAll(async () => {
    await removeBase?.();
    await farm?.stop();
    removeScratch();
  });

  const host = () => farm.hosts[0]!;

  /** One amd64 image, built here or on the host, whose `RUN` and smoke test are given; `timeout` its own. */
  const project = (name: string, o: { run: string; test: string; timeout?: string; onHost?: boolean }): string => {
    const dir = scratch(name);
    writeFileSync(
      path.join(dir, 'multiarch.yaml'),
      [
        'version: 1',
        'platforms: [linux/amd64]',
        'strategy: per-arch',
        ...(o.onHost
          ? [
              'hosts:',
              `  builder: { ssh: "root@${host().address}", identityFile: "${farm.identityFile}", knownHosts: "${farm.knownHosts}", platforms: [linux/amd64] }`,
            ]
          : []),
        'images:',
        '  hang:',
        '    context: hang',
        '    registries: []',
        ...(o.onHost ? ['    host: builder'] : []),
        ...(o.timeout === undefined ? [] : [`    timeout: ${o.timeout}`]),
        `    buildArgs: { BASE: "${baseList}" }`,
        `    test: { command: [sh, -c, "${o.test}"] }`,
        '',
      ].join('\n'),
    );
    mkdirSync(path.join(dir, 'hang'));
    writeFileSync(path.join(dir, 'hang', 'Containerfile'), `ARG BASE\nFROM \${BASE}\nRUN ${o.run}\n`);
    return dir;
  };

  /**
   * Runs `build` in `dir` with a report; how long it took, its exit code and report, and
   * whether the `sleep` it hangs in was seen running (else "nothing left" would prove nothing).
   */
  const build = async (dir: string, sleep: string, args: string[] = []) => {
    const report = path.join(dir, 'report.json');
    const started = Date.now();
    const cli = startCli(['build', '--report', report, ...args], {
      cwd: dir,
      env: { CONTAINERS_REGISTRIES_CONF: registriesConf },
    });
    let ended = false;
    void cli.done.then(() => (ended = true));
    let seen = false;
    while (!ended && !seen) {
      seen = processesMatching(sleep).length > 0;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const result = await cli.done;
    const run = readJson<RunReport>(report);
    // For the record: how long each timed-out task ran before it was reported stopped.
    for (const t of run.tasks.filter((t) => t.failure?.reason === 'timeout' && t.durationMs !== undefined))
      console.log(`${path.basename(dir)} ${t.id}: stopped after ${t.durationMs} ms (run ${Date.now() - started} ms)`);
    return { ...result, ms: Date.now() - started, seen, run };
  };
  const taskOf = (run: RunReport, kind: string) => run.tasks.find((t) => t.kind === kind);
  const testContainers = async (podman: (args: string[]) => Promise<string>, runId: string) =>
    (await podman(['ps', '--all', '--format', '{{.Names}}'])).split('\n').filter((n) => n.includes(runId));
  const localPodman = async (args: string[]) => (await run('podman', args)).stdout;

  it('stops a hung RUN here at its timeout: reason timeout, nothing left running', async () => {
    const result = await build(project('local-run', { run: 'sleep 301', test: 'true', timeout: '5s' }), 'sleep 301');
    const out = result.stdout + result.stderr;
    expect(result.code, out).toBe(1);
    expect(result.seen, out).toBe(true);
    expect(result.ms, out).toBeLessThan(BOUND_MS);
    expect(taskOf(result.run, 'build'), out).toMatchObject({
      status: 'failed',
      failure: { reason: 'timeout', hint: expect.stringContaining('timeout:') },
    });
    expect(result.stdout).toMatch(/ran longer than its timeout of 5s/);
    expect(taskOf(result.run, 'test')?.status).toBe('skipped');
    expect(processesMatching('sleep 301')).toEqual([]);
  });

  it('stops a hung smoke test here at its timeout, and removes its container', async () => {
    const result = await build(project('local-test', { run: 'true', test: 'sleep 302', timeout: '5s' }), 'sleep 302');
    const out = result.stdout + result.stderr;
    expect(result.code, out).toBe(1);
    expect(result.seen, out).toBe(true);
    expect(result.ms, out).toBeLessThan(BOUND_MS);
    expect(taskOf(result.run, 'build')?.status, out).toBe('succeeded');
    expect(taskOf(result.run, 'test')?.failure?.reason, out).toBe('timeout');
    expect(processesMatching('sleep 302')).toEqual([]);
    expect(await testContainers(localPodman, result.run.runId)).toEqual([]);
  });

  it('stops a hung RUN on a build host at its timeout: its podman session and the sleep are gone there', async () => {
    const result = await build(
      project('remote-run', { run: 'sleep 303', test: 'true', timeout: '5s', onHost: true }),
      'sleep 303',
    );
    const out = result.stdout + result.stderr;
    expect(result.code, out).toBe(1);
    expect(result.seen, out).toBe(true);
    expect(result.ms, out).toBeLessThan(BOUND_MS);
    expect(taskOf(result.run, 'build'), out).toMatchObject({ host: 'builder', failure: { reason: 'timeout' } });
    expect(host().sessionProcesses()).toEqual([]);
    expect(processesMatching('sleep 303')).toEqual([]);
  });

  it('stops a hung smoke test on a build host at its timeout, and removes its container there', async () => {
    const result = await build(
      project('remote-test', { run: 'true', test: 'sleep 304', timeout: '5s', onHost: true }),
      'sleep 304',
    );
    const out = result.stdout + result.stderr;
    expect(result.code, out).toBe(1);
    expect(result.seen, out).toBe(true);
    expect(result.ms, out).toBeLessThan(BOUND_MS);
    expect(taskOf(result.run, 'test'), out).toMatchObject({ host: 'builder', failure: { reason: 'timeout' } });
    expect(host().sessionProcesses()).toEqual([]);
    expect(processesMatching('sleep 304')).toEqual([]);
    expect(await testContainers((args) => host().podman(args), result.run.runId)).toEqual([]);
  });

  it('build --timeout stops the whole run as Ctrl-C would, but fails it with reason timeout (exit 1)', async () => {
    const result = await build(project('run-timeout', { run: 'sleep 305', test: 'true' }), 'sleep 305', [
      '--timeout',
      '5s',
    ]);
    const out = result.stdout + result.stderr;
    expect(result.code, out).toBe(1);
    expect(result.seen, out).toBe(true);
    expect(result.ms, out).toBeLessThan(BOUND_MS);
    expect(result.run.status).toBe('failed');
    expect(taskOf(result.run, 'build'), out).toMatchObject({
      status: 'failed',
      failure: { reason: 'timeout', message: expect.stringContaining('--timeout of 5s') },
    });
    expect(taskOf(result.run, 'test')?.failure?.reason).toBe('timeout');
    expect(processesMatching('sleep 305')).toEqual([]);
  });
});
