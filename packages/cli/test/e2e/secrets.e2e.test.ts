/**
 * Build secrets, for real: a token from the environment and a file, read by RUN
 * --mount=type=secret here and on a build host, in both strategies. The values must reach
 * the build (their hashes are in the image) and nothing else: no layer, image config or
 * history, no process's argv or environment, no line of output, no report. A missing one
 * stops the build before anything runs. Under CI=true it runs or fails.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushBaseImages } from './fixture/base-images.js';
import { createBuildHostNetworks, startBuildHosts, type BuildHosts } from './fixture/build-hosts.js';
import { run, startRegistry, type Registry } from './fixture/registry.js';
import {
  checkerAuthfile,
  e2eUnavailable,
  environmentsHolding,
  orchestrateBuild,
  processesMatching,
  removeScratch,
  scratch,
  startCli,
} from './harness.js';

const unavailable = e2eUnavailable();
const mustRun = process.env['CI'] === 'true';
const E2E_TIMEOUT = 15 * 60_000;

describe.skipIf(unavailable !== undefined && !mustRun)('build secrets, end to end', { timeout: E2E_TIMEOUT }, () => {
  let registry: Registry;
  let farm: BuildHosts;
  let base: string;
  let authfile: string;
  const token = `tok-${randomBytes(8).toString('hex')}`;
  const fileSecret = `file-secret-${randomBytes(8).toString('hex')}`;
  const sha = (text: string) => createHash('sha256').update(text).digest('hex');

  beforeAll(async () => {
    if (unavailable) throw new Error(unavailable);
    const work = scratch('secrets');
    const networks = await createBuildHostNetworks(1);
    registry = await startRegistry(path.join(work, 'registry'), networks[0]!.gateway);
    farm = await startBuildHosts(path.join(work, 'hosts'), networks);
    base = await pushBaseImages(registry, path.join(work, 'base'), ['linux/amd64', 'linux/arm64']);
    authfile = await checkerAuthfile(registry, work);
  }, E2E_TIMEOUT);

  afterAll(async () => {
    await farm?.stop();
    await registry?.stop();
    removeScratch();
  });

  const project = (): string => {
    const dir = scratch('secrets-project');
    const host = farm.hosts[0]!;
    writeFileSync(
      path.join(dir, 'multiarch.yaml'),
      [
        'version: 1',
        'registries:',
        `  reg: { url: "${registry.host}/secrets", auth: { username: "${registry.username}", passwordEnv: REG_PASSWORD } }`,
        'hosts:',
        `  arm1: { ssh: "root@${host.address}", identityFile: "${farm.identityFile}", knownHosts: "${farm.knownHosts}", platforms: [linux/arm64] }`,
        'secrets:',
        '  tok: { env: BUILD_TOKEN }',
        'images:',
        `  pa: { context: app, strategy: per-arch, platforms: [linux/amd64, linux/arm64], secrets: { conf: { file: conf.txt } }, test: { command: [cat, /hashes], expect: "^${sha(token)}\\n${sha(fileSecret)}" } }`,
        `  mf: { context: app, platforms: [linux/amd64, linux/arm64], secrets: { conf: { file: conf.txt } } }`,
        '',
      ].join('\n'),
    );
    mkdirSync(path.join(dir, 'app'));
    // The value printed by RUN: our output must mask it. The hashes prove it arrived.
    writeFileSync(
      path.join(dir, 'app', 'Containerfile'),
      [
        `FROM ${base}`,
        'RUN --mount=type=secret,id=tok --mount=type=secret,id=conf echo "token is $(cat /run/secrets/tok)" && sha256sum /run/secrets/tok /run/secrets/conf | cut -d" " -f1 > /hashes',
        '',
      ].join('\n'),
    );
    writeFileSync(path.join(dir, 'conf.txt'), fileSecret);
    return dir;
  };
  const env = () => ({ REG_PASSWORD: registry.password, BUILD_TOKEN: token });

  it('reach RUN here and on a build host, in both strategies, and nothing else', async () => {
    const dir = project();
    const report = path.join(dir, 'report.json');
    const planned = await startCli(['plan'], { cwd: dir, env: env() }).done;
    expect(planned.code, planned.stderr).toBe(0);
    expect(planned.stdout).toContain('--secret=id=tok,src=<secret-file env-BUILD_TOKEN>');
    expect(planned.stdout).toContain('secret:env-BUILD_TOKEN@arm1');

    const cli = startCli(['build', '--report', report, '--output', 'json'], { cwd: dir, env: env() });
    const seen: string[] = [];
    const watcher = setInterval(() => {
      for (const value of [token, fileSecret])
        seen.push(
          ...processesMatching(value),
          ...environmentsHolding(value, ['ssh', 'podman', 'skopeo', 'buildah', 'sh']),
        );
    }, 100);
    const result = await cli.done;
    clearInterval(watcher);
    expect(result.code, result.stdout.slice(-3000) + result.stderr).toBe(0);
    expect(seen).toEqual([]);
    // RUN printed the token: masked in every line we print, and in the report.
    const printed = `${result.stdout}\n${result.stderr}\n${readFileSync(report, 'utf8')}`;
    expect(printed).toContain('token is ***');
    for (const value of [token, fileSecret]) expect(printed).not.toContain(value);

    // The smoke test read the hashes on both platforms: the values arrived, here and on arm1.
    for (const name of ['pa', 'mf']) {
      const reference = `${registry.host}/secrets/${name}:latest`;
      for (const arch of ['amd64', 'arm64']) {
        const image = `localhost/orchestrate-e2e/secrets-check-${name}:${arch}`;
        await run('podman', ['pull', '--quiet', '--authfile', authfile, '--arch', arch, `docker://${reference}`]);
        await run('podman', ['tag', reference, image]);
        const hashes = await run('podman', ['run', '--rm', '--arch', arch, image, 'cat', '/hashes']);
        expect(hashes.stdout.split('\n').slice(0, 2)).toEqual([sha(token), sha(fileSecret)]);
        // Not in any layer, nor the config or history.
        const archive = path.join(dir, `${name}-${arch}.tar`);
        await run('podman', ['save', '--quiet', '--output', archive, image]);
        const bytes = readFileSync(archive);
        const inspected = (await run('podman', ['image', 'inspect', image])).stdout;
        const history = (await run('podman', ['history', '--no-trunc', image])).stdout;
        for (const value of [token, fileSecret]) {
          expect(bytes.includes(value), `${name} ${arch} layers`).toBe(false);
          expect(inspected + history, `${name} ${arch} config`).not.toContain(value);
        }
        await run('podman', ['rmi', '--force', image, reference], { allowFailure: true });
      }
    }
    // Nothing of this run is left on the host: its directory held the secret files.
    const { runId } = JSON.parse(readFileSync(report, 'utf8')) as { runId: string };
    expect(existsSync(`/root/.cache/orchestrate/run-${runId}-arm1`)).toBe(false);
  });

  it('a secret that is not set stops the build before anything runs (exit 2)', async () => {
    const dir = project();
    const result = await orchestrateBuild([], { cwd: dir, env: { REG_PASSWORD: registry.password } });
    expect(result.code, result.stdout + result.stderr).toBe(2);
    expect(result.stderr).toMatch(/secret-not-set +BUILD_TOKEN is not set: a build secret reads it/);
    expect(result.stdout).not.toMatch(/start +build/);
  });
});
