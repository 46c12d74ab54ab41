/**
 * `orchestrate build` with build hosts over ssh, for real: two hosts in network namespaces
 * (sshd, their own podman storage), a registry they reach on this machine's end of a veth,
 * examples/per-arch with amd64 here, arm64 on host A and s390x on host B. Then the faults:
 * a host dying mid-build (with and without fallback), a changed host key, injection attempts,
 * Ctrl-C during a remote build. Under CI=true this suite runs or fails; it never skips.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownerStamp, type RunReport } from '@multiarch/core';
import { pushBaseImages } from './fixture/base-images.js';
import { createBuildHostNetworks, startBuildHosts, type BuildHosts } from './fixture/build-hosts.js';
import { run as runCommand, startRegistry, type Registry } from './fixture/registry.js';
import {
  checkerAuthfile,
  copyExample,
  e2eUnavailable,
  environmentsHolding,
  inspectList,
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
  'orchestrate build with ssh build hosts, end to end',
  { timeout: E2E_TIMEOUT },
  () => {
    let registry: Registry;
    let farm: BuildHosts;
    let base: string;
    let authfile: string;
    const tag = `remote-${Date.now().toString(36)}`;

    beforeAll(async () => {
      if (unavailable) throw new Error(unavailable);
      const work = scratch('remote');
      const networks = await createBuildHostNetworks(2);
      // On host A's gateway: this machine's address that both namespaces reach (not loopback, which is theirs).
      registry = await startRegistry(path.join(work, 'registry'), networks[0]!.gateway);
      // Host A's podman storage is a 64 MB tmpfs: enough for the example, not for a 100 MB RUN.
      farm = await startBuildHosts(path.join(work, 'hosts'), networks, [64]);
      base = await pushBaseImages(registry, path.join(work, 'base'), ['linux/amd64', 'linux/arm64', 'linux/s390x']);
      authfile = await checkerAuthfile(registry, work);
    }, E2E_TIMEOUT);

    afterAll(async () => {
      await farm?.stop();
      await registry?.stop();
      removeScratch();
    });

    const hostA = () => farm.hosts[0]!;
    const hostB = () => farm.hosts[1]!;
    const env = (overrides: Record<string, string> = {}): Record<string, string> => ({
      REGISTRY: registry.host,
      REGISTRY_USER: registry.username,
      REGISTRY_PASSWORD: registry.password,
      BASE_IMAGE: base,
      GIT_SHA: tag,
      BUILDER_USER: 'root',
      ARM_HOST: hostA().address,
      S390X_HOST: hostB().address,
      BUILDER_KEY: farm.identityFile,
      BUILDER_KNOWN_HOSTS: farm.knownHosts,
      ...overrides,
    });
    const taskOf = (report: RunReport, id: string) => report.tasks.find((t) => t.id === id);
    /** A host that died mid-run keeps that run's directory (nothing could remove it): as a real one would, until someone does. */
    const removeLeftovers = (run: RunReport) =>
      rmSync(`/root/.cache/orchestrate/run-${run.runId}-arm-builder`, { recursive: true, force: true });
    const images = async (host: ReturnType<typeof hostA>) =>
      (await host.podman(['images', '--format', '{{.Repository}}:{{.Tag}}'])).split('\n');

    it('builds examples/per-arch: amd64 here, arm64 on host A, s390x on host B; one connection each; nothing left there', async () => {
      const dir = copyExample('per-arch', scratch('per-arch'));
      const report = path.join(dir, 'report.json');
      const cli = startCli(['build', '--report', report], { cwd: dir, env: env() });
      const seen: string[] = [];
      // Nor in the environment of podman, skopeo or ssh (a SendEnv would carry it to the host).
      const watcher = setInterval(
        () =>
          seen.push(
            ...processesMatching(registry.password),
            ...environmentsHolding(registry.password, ['ssh', 'podman', 'skopeo']),
          ),
        100,
      );
      const result = await cli.done;
      clearInterval(watcher);
      expect(result.code, cli.output()).toBe(0);
      expect(seen).toEqual([]);
      expect(cli.output()).not.toContain(registry.password);

      const run = readJson<RunReport>(report);
      expect(taskOf(run, 'build:app:linux/arm64')).toMatchObject({ host: 'arm-builder', status: 'succeeded' });
      expect(taskOf(run, 'build:app:linux/s390x')).toMatchObject({ host: 's390x-builder', status: 'succeeded' });
      expect(taskOf(run, 'test:app:linux/arm64')).toMatchObject({ host: 'arm-builder', status: 'succeeded' });
      expect(taskOf(run, 'build:app:linux/arm64@fallback')?.status).toBe('not-needed');
      // The builds ran in each host's own storage: the cache anchor stays there, and only there.
      expect(await images(hostA())).toContain('localhost/orchestrate/app:linux-arm64');
      expect(await images(hostA())).not.toContain('localhost/orchestrate/app:linux-s390x');
      expect(await images(hostB())).toContain('localhost/orchestrate/app:linux-s390x');
      expect(await images(hostB())).not.toContain('localhost/orchestrate/app:linux-arm64');
      // One ControlMaster per host for the whole run, and its directory (authfile, context) is gone.
      expect(run.hosts?.['arm-builder']?.connections).toBe(1);
      expect(run.hosts?.['s390x-builder']?.connections).toBe(1);
      expect(readFileSync(hostA().sshdLog, 'utf8')).toMatch(/Accepted publickey for root/);
      for (const host of ['arm-builder', 's390x-builder'])
        expect(existsSync(`/root/.cache/orchestrate/run-${run.runId}-${host}`)).toBe(false);

      // The published list holds exactly the digests the hosts pushed.
      const list = await inspectList(`${registry.host}/examples/app:${tag}`, authfile);
      expect(list?.entries.map((e) => e.platform).sort()).toEqual(['linux/amd64', 'linux/arm64', 'linux/s390x']);
      for (const platform of ['linux/amd64', 'linux/arm64', 'linux/s390x']) {
        expect(list?.entries.find((e) => e.platform === platform)?.digest).toBe(
          taskOf(run, `push:app:${platform}`)?.digest,
        );
      }
      expect(list?.digest).toBe(run.images['app']?.digest);
    });

    it("rebuilds after a Containerfile change, here and on the hosts (a list pinned to host A too), and sweeps a dead run's directory there", async () => {
      const dir = copyExample('per-arch', scratch('rebuild'));
      const spec = path.join(dir, 'multiarch.yaml');
      writeFileSync(
        spec,
        `${readFileSync(spec, 'utf8')}  pinned:\n    context: app\n    strategy: manifest-first\n    host: arm-builder\n    platforms: [linux/arm64]\n    tags: ["\${TAG}-pinned"]\n    buildArgs: { BASE: "\${BASE_IMAGE}" }\n`,
      );
      // A run of this machine killed before its cleanup, its authfile still on host A.
      const dead = '/root/.cache/orchestrate/run-19990101-000000-dead00-arm-builder';
      mkdirSync(dead, { recursive: true });
      writeFileSync(path.join(dead, 'auth.json'), '{"auths":{}}');
      // This machine, boot and pid namespace (the stamp orchestrate writes), with a pid above Linux's pid_max.
      writeFileSync(path.join(dead, 'owner'), `${ownerStamp().replace(/ \d+ /, ` ${2 ** 22 + 1} `)}\n`);
      const tagged = env({ GIT_SHA: `${tag}-rebuild` });
      const report = path.join(dir, 'report.json');
      const first = await startCli(['build', '--report', report], { cwd: dir, env: tagged }).done;
      expect(first.code, first.stdout + first.stderr).toBe(0);
      expect(existsSync(dead)).toBe(false);
      expect(readJson<RunReport>(report).notices?.join('\n')).toContain(
        `arm-builder: removed run directories of runs that died before their cleanup: .cache/orchestrate/run-19990101-000000-dead00-arm-builder`,
      );
      const before = await inspectList(`${registry.host}/examples/app:${tag}-rebuild`, authfile);
      const pinnedBefore = await inspectList(`${registry.host}/examples/pinned:${tag}-rebuild-pinned`, authfile);

      writeFileSync(
        path.join(dir, 'app', 'Containerfile'),
        `${readFileSync(path.join(dir, 'app', 'Containerfile'), 'utf8')}RUN echo changed > /changed\n`,
      );
      const second = await startCli(['build', '--report', report], { cwd: dir, env: tagged }).done;
      expect(second.code, second.stdout + second.stderr).toBe(0);
      const after = await inspectList(`${registry.host}/examples/app:${tag}-rebuild`, authfile);
      expect(after?.entries.map((e) => e.platform)).toEqual(['linux/amd64', 'linux/arm64', 'linux/s390x']);
      expect(after?.digest).not.toBe(before?.digest);
      const pinnedAfter = await inspectList(`${registry.host}/examples/pinned:${tag}-rebuild-pinned`, authfile);
      expect(pinnedAfter?.entries.map((e) => e.platform)).toEqual(['linux/arm64']);
      expect(pinnedAfter?.digest).not.toBe(pinnedBefore?.digest);
      expect(taskOf(readJson<RunReport>(report), 'reset:pinned')).toMatchObject({
        host: 'arm-builder',
        status: 'succeeded',
      });
    });

    it('passes a build argument with $(...), backticks, quotes and newlines to the host byte for byte, and rejects a host name that is an option', async () => {
      const dir = scratch('inject');
      const canary = path.join(dir, 'pwned');
      const payload = `$(touch ${canary}) \`touch ${canary}\` "double" 'single' \\ ; | & *\nsecond line\n`;
      const sha = createHash('sha256').update(payload).digest('hex');
      writeFileSync(
        path.join(dir, 'Containerfile'),
        `ARG BASE\nFROM \${BASE}\nARG PAYLOAD\nRUN printf '%s' "$PAYLOAD" | sha256sum | cut -c1-64 > /payload.sha\n`,
      );
      const spec = (ssh: string) =>
        [
          'version: 1',
          'strategy: per-arch',
          'platforms: [linux/arm64]',
          'hosts:',
          `  a: { ssh: "${ssh}", identityFile: "${farm.identityFile}", knownHosts: "${farm.knownHosts}", platforms: [linux/arm64] }`,
          'registries:',
          `  r: { url: "${registry.host}/inject", auth: { username: ${registry.username}, passwordEnv: REGISTRY_PASSWORD } }`,
          'images:',
          '  inject:',
          '    context: .',
          '    registries: []   # built and tested on the host, not published; the host logs in to pull the base',
          '    buildArgs:',
          `      BASE: ${base}`,
          `      PAYLOAD: ${JSON.stringify(payload)}`,
          `    test: { command: [cat, /payload.sha], expect: "^${sha}\\\\s*$" }`,
          '',
        ].join('\n');
      writeFileSync(path.join(dir, 'multiarch.yaml'), spec(`root@${hostA().address}:22`));
      const result = await startCli(['build'], { cwd: dir, env: { REGISTRY_PASSWORD: registry.password } }).done;
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(result.stdout).toMatch(/ok\s+test:inject:linux\/arm64/);
      expect(existsSync(canary)).toBe(false);

      for (const ssh of [
        `root@-oProxyCommand=touch ${canary}:22`,
        `-oProxyCommand=x@${hostA().address}`,
        `root@$(touch ${canary})`,
      ]) {
        writeFileSync(path.join(dir, 'multiarch.yaml'), spec(ssh));
        const refused = await startCli(['build'], { cwd: dir, env: { REGISTRY_PASSWORD: registry.password } }).done;
        expect(refused.code).toBe(2);
        expect(refused.stderr).toMatch(/multiarch\.yaml:5:\d+ +error +invalid-ssh-address/);
        expect(existsSync(canary)).toBe(false);
      }
    });

    /** examples/per-arch whose build pauses after its first step, long enough to be interrupted there. */
    const slowExample = (name: string, seconds: number): string => {
      const dir = copyExample('per-arch', scratch(name));
      const file = path.join(dir, 'app', 'Containerfile');
      writeFileSync(
        file,
        readFileSync(file, 'utf8').replace(
          'RUN uname -m > /built-on',
          `RUN uname -m > /built-on\nRUN sleep ${seconds}`,
        ),
      );
      return dir;
    };

    it('rebuilds arm64 here under QEMU when host A dies mid-build, and still publishes', async () => {
      const dir = slowExample('crash-fallback', 3);
      const report = path.join(dir, 'report.json');
      const cli = startCli(['build', '--report', report], { cwd: dir, env: env({ GIT_SHA: `${tag}-fb` }) });
      await cli.waitFor(/build:app:linux\/arm64 \| STEP 3\/4: RUN sleep/);
      hostA().crash();
      const result = await cli.done;
      await hostA().restart();
      expect(result.code, cli.output()).toBe(0);
      const run = readJson<RunReport>(report);
      removeLeftovers(run);
      expect(taskOf(run, 'build:app:linux/arm64'), cli.output()).toMatchObject({
        status: 'replaced',
        failure: { reason: 'host-lost' },
      });
      expect(taskOf(run, 'build:app:linux/arm64@fallback')).toMatchObject({ host: 'local', status: 'succeeded' });
      expect(taskOf(run, 'push:app:linux/arm64@fallback')?.status).toBe('succeeded');
      expect(cli.output()).toMatch(/fallback:/);
      const list = await inspectList(`${registry.host}/examples/app:${tag}-fb`, authfile);
      expect(list?.entries.find((e) => e.platform === 'linux/arm64')?.digest).toBe(
        taskOf(run, 'push:app:linux/arm64@fallback')?.digest,
      );
      expect(list?.entries).toHaveLength(3);
    });

    it('fails arm64 with a clear error when host A dies and there is no fallback, and publishes nothing', async () => {
      const dir = slowExample('crash-fail', 3);
      const report = path.join(dir, 'report.json');
      const cli = startCli(['build', '--fallback', 'fail', '--report', report], {
        cwd: dir,
        env: env({ GIT_SHA: `${tag}-nofb` }),
      });
      await cli.waitFor(/build:app:linux\/arm64 \| STEP 3\/4: RUN sleep/);
      hostA().crash();
      const result = await cli.done;
      await hostA().restart();
      expect(result.code, cli.output()).toBe(1);
      const run = readJson<RunReport>(report);
      removeLeftovers(run);
      expect(taskOf(run, 'build:app:linux/arm64'), cli.output()).toMatchObject({
        status: 'failed',
        failure: { reason: 'host-lost' },
      });
      expect(taskOf(run, 'build:app:linux/arm64')?.failure?.message).toMatch(/lost the connection to arm-builder/);
      expect(run.tasks.some((t) => t.id.endsWith('@fallback'))).toBe(false);
      expect(await inspectList(`${registry.host}/examples/app:${tag}-nofb`, authfile)).toBeUndefined();
    });

    it('refuses a host whose key changed, and says how to fix it', async () => {
      const dir = copyExample('per-arch', scratch('hostkey'));
      const knownHosts = path.join(dir, 'known_hosts');
      // Host B's entry now holds host A's key: to the client, B's key changed.
      writeFileSync(knownHosts, `${hostA().address} ${hostA().hostKey}\n${hostB().address} ${hostA().hostKey}\n`);
      const report = path.join(dir, 'report.json');
      const result = await startCli(['build', '--keep-going', '--report', report], {
        cwd: dir,
        env: env({ BUILDER_KNOWN_HOSTS: knownHosts, GIT_SHA: `${tag}-key` }),
      }).done;
      expect(result.code).toBe(1);
      const failed = readJson<RunReport>(report).tasks.filter((t) => t.status === 'failed');
      expect(failed.length).toBeGreaterThan(0);
      for (const task of failed) {
        expect(task.host).toBe('s390x-builder');
        expect(task.failure?.reason).toBe('host-key');
      }
      expect(result.stdout).toMatch(/differs from the one in/);
      expect(result.stdout).toMatch(/ssh-keygen -R/);
    });

    it('stops the remote podman on Ctrl-C: nothing left running on the host', async () => {
      // A number no other suite sleeps for: suites run side by side, and each checks its own is gone.
      const dir = slowExample('sigint', 122);
      const report = path.join(dir, 'report.json');
      const cli = startCli(['build', '--report', report, '--platform', 'linux/arm64'], {
        cwd: dir,
        env: env({ GIT_SHA: `${tag}-int` }),
      });
      await cli.waitFor(/build:app:linux\/arm64 \| STEP 3\/4: RUN sleep/);
      expect(
        hostA()
          .sessionProcesses()
          .some((p) => p.includes('podman')),
      ).toBe(true);
      cli.signal('SIGINT');
      const result = await cli.done;
      expect(result.code, cli.output()).toBe(130);
      expect(hostA().sessionProcesses()).toEqual([]);
      expect(processesMatching('sleep 122')).toEqual([]);
      const run = readJson<RunReport>(report);
      expect(run.status).toBe('interrupted');
      // Its run directory on the host (context, authfile) went too.
      expect(existsSync(`/root/.cache/orchestrate/run-${run.runId}-arm-builder`)).toBe(false);
    });
    it('stops a remote smoke test on Ctrl-C: its container, detached under conmon, is removed too', async () => {
      const dir = copyExample('per-arch', scratch('sigint-test'));
      const spec = path.join(dir, 'multiarch.yaml');
      writeFileSync(
        spec,
        readFileSync(spec, 'utf8')
          .replace('command: [uname, -m]', 'command: [sleep, "121"]')
          .replace(/expect: \{[^}]*\}/, ''),
      );
      const report = path.join(dir, 'report.json');
      const cli = startCli(['build', '--report', report, '--platform', 'linux/arm64'], {
        cwd: dir,
        env: env({ GIT_SHA: `${tag}-int-test` }),
      });
      await cli.waitFor(/start test:app:linux\/arm64/);
      const deadline = Date.now() + 60_000;
      while (processesMatching('sleep 121').length === 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      expect(processesMatching('sleep 121').length, cli.output()).toBeGreaterThan(0);
      cli.signal('SIGINT');
      const result = await cli.done;
      expect(result.code, cli.output()).toBe(130);
      expect(processesMatching('sleep 121')).toEqual([]);
      expect(await hostA().podman(['ps', '--all', '--format', '{{.Names}}'])).not.toMatch(/orchestrate-/);
    });

    it('takes the address and identity from a podman system connection', async () => {
      const dir = scratch('connection');
      writeFileSync(path.join(dir, 'Containerfile'), 'ARG BASE\nFROM ${BASE}\nRUN uname -m > /built-on\n');
      writeFileSync(
        path.join(dir, 'multiarch.yaml'),
        [
          'version: 1',
          'strategy: per-arch',
          'platforms: [linux/arm64]',
          'hosts:',
          `  farm-arm: { connection: e2e-arm, knownHosts: "${farm.knownHosts}", platforms: [linux/arm64] }`,
          'registries:',
          `  r: { url: "${registry.host}/connection", auth: { username: ${registry.username}, passwordEnv: REGISTRY_PASSWORD } }`,
          'images:',
          '  viaconn:',
          '    context: .',
          `    buildArgs: { BASE: "${base}" }`,
          '',
        ].join('\n'),
      );
      // The user's podman configuration, with the connection as \`podman system connection add\` records it.
      const conf = path.join(dir, 'containers.conf');
      writeFileSync(
        conf,
        [
          '[containers]',
          'default_ulimits = ["nofile=20000:20000", "nproc=20000:20000"]',
          '[engine]',
          'runtime = "runc"',
          '[engine.service_destinations.e2e-arm]',
          `uri = "ssh://root@${hostA().address}:22/run/podman/podman.sock"`,
          `identity = "${farm.identityFile}"`,
          '',
        ].join('\n'),
      );
      const report = path.join(dir, 'report.json');
      const result = await startCli(['build', '--report', report], {
        cwd: dir,
        env: { REGISTRY_PASSWORD: registry.password, CONTAINERS_CONF: conf, GIT_SHA: tag },
      }).done;
      expect(result.code, result.stdout + result.stderr).toBe(0);
      const run = readJson<RunReport>(report);
      expect(taskOf(run, 'build:viaconn:linux/arm64')).toMatchObject({ host: 'farm-arm', status: 'succeeded' });
      expect(run.hosts?.['farm-arm']?.connections).toBe(1);
      expect(await images(hostA())).toContain('localhost/orchestrate/viaconn:linux-arm64');

      // A connection podman does not have stops the build before it starts.
      writeFileSync(
        path.join(dir, 'multiarch.yaml'),
        readFileSync(path.join(dir, 'multiarch.yaml'), 'utf8').replace('connection: e2e-arm', 'connection: e2e-nope'),
      );
      const refused = await startCli(['build'], {
        cwd: dir,
        env: { REGISTRY_PASSWORD: registry.password, CONTAINERS_CONF: conf },
      }).done;
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(
        /connection-not-found.*podman has no system connection "e2e-nope" \(it has: e2e-arm\)/,
      );
    });

    it('rebuilds arm64 here when host A runs out of disk, and still publishes', async () => {
      const dir = copyExample('per-arch', scratch('disk'));
      const file = path.join(dir, 'app', 'Containerfile');
      writeFileSync(
        file,
        readFileSync(file, 'utf8').replace(
          'RUN uname -m > /built-on',
          'RUN uname -m > /built-on\nRUN dd if=/dev/zero of=/fill bs=1M count=100 && rm /fill',
        ),
      );
      const report = path.join(dir, 'report.json');
      const cli = startCli(['build', '--report', report], { cwd: dir, env: env({ GIT_SHA: `${tag}-disk` }) });
      const result = await cli.done;
      // Whatever the failed step left on the host goes, so the host has its disk back.
      await runCommand('env', [`CONTAINERS_STORAGE_CONF=${hostA().storageConf}`, 'buildah', 'rm', '--all'], {
        allowFailure: true,
      });
      expect(result.code, cli.output()).toBe(0);
      const outcome = readJson<RunReport>(report);
      expect(taskOf(outcome, 'build:app:linux/arm64'), cli.output()).toMatchObject({
        status: 'replaced',
        failure: { reason: 'no-space' },
      });
      expect(taskOf(outcome, 'build:app:linux/arm64')?.failure?.hint).toMatch(/free disk space/);
      expect(taskOf(outcome, 'build:app:linux/arm64@fallback')?.status).toBe('succeeded');
      const list = await inspectList(`${registry.host}/examples/app:${tag}-disk`, authfile);
      expect(list?.entries.find((e) => e.platform === 'linux/arm64')?.digest).toBe(
        taskOf(outcome, 'push:app:linux/arm64@fallback')?.digest,
      );
    });
  },
);
