/**
 * bench/remote: examples/per-arch with arm64 and s390x on two ssh build hosts (network
 * namespaces on this machine, as the end-to-end tests make them) against the same image
 * built manifest-first here under emulation, in one run, alternating which goes first.
 *
 * Prints both wall times and the ratio, and what ssh costs per remote task: connecting
 * (ControlMaster and run directory), sending the context, and one session through the
 * master (measured with `true`), against the time the host's tasks took. Connections are
 * counted twice: by orchestrate's report and by sshd's own log ("Accepted publickey").
 *
 * The "hosts" share this machine's two cores and still emulate arm64 and s390x with QEMU,
 * so the ratio shows overlap and overhead, not native speed.
 * Needs root, podman, docker-registry and sshd (npm run setup).
 *
 *   npx tsx bench/remote/run.ts [--rounds N] [--json]
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ssh, type RunReport } from '@multiarch/core';
import { pushBaseImages } from '../../packages/cli/test/e2e/fixture/base-images.js';
import {
  createBuildHostNetworks,
  startBuildHosts,
  type BuildHost,
} from '../../packages/cli/test/e2e/fixture/build-hosts.js';
import { run, startRegistry } from '../../packages/cli/test/e2e/fixture/registry.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CLI = path.join(REPO, 'packages/cli/bin/orchestrate.js');
const json = process.argv.includes('--json');
const roundsAt = process.argv.indexOf('--rounds');
const rounds = roundsAt >= 0 ? Math.max(1, Number(process.argv[roundsAt + 1])) : 3;
const log = (text: string): void => void process.stderr.write(`${text}\n`);
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

function timed(cwd: string, args: string[], env: Record<string, string>, logFile: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const out = openSync(logFile, 'w');
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd,
      env: { ...process.env, CI: 'true', ...env },
      stdio: ['ignore', out, out],
    });
    child.on('close', (code) =>
      code === 0
        ? resolve(performance.now() - started)
        : reject(new Error(`orchestrate exited ${code}: see ${logFile}`)),
    );
  });
}

const accepted = (host: BuildHost): number =>
  (readFileSync(host.sshdLog, 'utf8').match(/Accepted publickey/g) ?? []).length;

/** One empty command through a ControlMaster of our own, the way orchestrate runs each remote task: the floor of its per-task ssh cost. */
async function emptySessionMs(host: BuildHost, identityFile: string, knownHosts: string, dir: string): Promise<number> {
  const target = {
    name: host.namespace,
    user: 'root',
    host: host.address,
    port: host.port,
    identityFile,
    knownHosts,
    connectTimeout: 10,
    controlPath: path.join(dir, `cm-${host.namespace}`),
  };
  await run(ssh.masterArgs(target)[0]!, ssh.masterArgs(target).slice(1));
  const times: number[] = [];
  for (let i = 0; i < 15; i++) {
    const started = performance.now();
    await run('ssh', ssh.sessionArgs(target, 'true').slice(1));
    times.push(performance.now() - started);
  }
  await run('ssh', ssh.controlArgs(target, 'exit').slice(1), { allowFailure: true });
  return median(times);
}

interface Round {
  remoteMs: number;
  emulatedMs: number;
  ratio: number;
  hosts: Record<
    string,
    {
      tasks: number;
      taskMs: number;
      connectMs: number;
      uploadMs: number;
      sessions: number;
      sshMs: number;
      overheadPercent: number;
      connections: number;
      sshdAccepted: number;
    }
  >;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/remote needs root (network namespaces, podman): run it as root');
  const work = mkdtempSync(path.join(tmpdir(), 'orchestrate-bench-remote-'));
  const networks = await createBuildHostNetworks(2);
  const registry = await startRegistry(path.join(work, 'registry'), networks[0]!.gateway);
  const farm = await startBuildHosts(path.join(work, 'hosts'), networks);
  try {
    const base = await pushBaseImages(registry, path.join(work, 'base'), ['linux/amd64', 'linux/arm64', 'linux/s390x']);
    const remoteDir = path.join(work, 'remote');
    const emulatedDir = path.join(work, 'emulated');
    cpSync(path.join(REPO, 'examples/per-arch'), remoteDir, { recursive: true });
    cpSync(path.join(REPO, 'examples/per-arch'), emulatedDir, { recursive: true });
    const spec = path.join(emulatedDir, 'multiarch.yaml');
    writeFileSync(spec, readFileSync(spec, 'utf8').replace('strategy: per-arch', 'strategy: manifest-first'));
    const [hostA, hostB] = farm.hosts as [BuildHost, BuildHost];
    const sessionMs = {
      'arm-builder': await emptySessionMs(hostA, farm.identityFile, farm.knownHosts, work),
      's390x-builder': await emptySessionMs(hostB, farm.identityFile, farm.knownHosts, work),
    };
    const env = {
      REGISTRY: registry.host,
      REGISTRY_USER: registry.username,
      REGISTRY_PASSWORD: registry.password,
      BASE_IMAGE: base,
      BUILDER_USER: 'root',
      ARM_HOST: hostA.address,
      S390X_HOST: hostB.address,
      BUILDER_KEY: farm.identityFile,
      BUILDER_KNOWN_HOSTS: farm.knownHosts,
    };
    const results: Round[] = [];
    for (let round = 1; round <= rounds; round++) {
      const tag = `bench-${Date.now().toString(36)}`;
      const report = path.join(work, `remote-${round}.json`);
      const acceptedBefore = { 'arm-builder': accepted(hostA), 's390x-builder': accepted(hostB) };
      const runRemote = () =>
        timed(
          remoteDir,
          ['build', '--report', report],
          { ...env, GIT_SHA: `${tag}-r` },
          path.join(work, `remote-${round}.log`),
        );
      const runEmulated = () =>
        timed(emulatedDir, ['build'], { ...env, GIT_SHA: `${tag}-e` }, path.join(work, `emulated-${round}.log`));
      // Alternate who goes first: the second one finds the registry and page cache warmer.
      let remoteMs: number;
      let emulatedMs: number;
      if (round % 2 === 1) {
        remoteMs = await runRemote();
        emulatedMs = await runEmulated();
      } else {
        emulatedMs = await runEmulated();
        remoteMs = await runRemote();
      }
      const figures = (JSON.parse(readFileSync(report, 'utf8')) as RunReport).hosts ?? {};
      const hosts: Round['hosts'] = {};
      for (const [name, host] of Object.entries(figures)) {
        const floor = (sessionMs[name as keyof typeof sessionMs] as number | undefined) ?? 0;
        // Sessions: every task on the host, plus a digest read per push; the connect and upload are measured whole.
        const sessions = host.tasks - host.uploads + 1;
        const sshMs = host.connectMs + host.uploadMs + sessions * floor;
        const box = name === 'arm-builder' ? hostA : hostB;
        hosts[name] = {
          tasks: host.tasks,
          taskMs: host.taskMs,
          connectMs: host.connectMs,
          uploadMs: host.uploadMs,
          sessions,
          sshMs: Math.round(sshMs),
          overheadPercent: Math.round((1000 * sshMs) / Math.max(1, host.taskMs + host.connectMs)) / 10,
          connections: host.connections,
          sshdAccepted: accepted(box) - acceptedBefore[name as keyof typeof acceptedBefore],
        };
      }
      results.push({
        remoteMs: Math.round(remoteMs),
        emulatedMs: Math.round(emulatedMs),
        ratio: Math.round((100 * emulatedMs) / remoteMs) / 100,
        hosts,
      });
      log(
        `round ${round}: remote ${(remoteMs / 1000).toFixed(1)} s, emulated here ${(emulatedMs / 1000).toFixed(1)} s, ratio ${(emulatedMs / remoteMs).toFixed(2)}`,
      );
    }
    if (json) {
      process.stdout.write(`${JSON.stringify({ rounds: results, emptySessionMs: sessionMs }, null, 2)}\n`);
      return;
    }
    const lines = [
      `empty ssh session through the master: ${Object.entries(sessionMs)
        .map(([h, ms]) => `${h} ${ms.toFixed(0)} ms`)
        .join(', ')}`,
    ];
    results.forEach((r, i) => {
      lines.push(
        `round ${i + 1}: per-arch on ssh hosts ${(r.remoteMs / 1000).toFixed(1)} s; manifest-first here under QEMU ${(r.emulatedMs / 1000).toFixed(1)} s; ratio ${r.ratio.toFixed(2)}x`,
      );
      for (const [name, h] of Object.entries(r.hosts)) {
        lines.push(
          `  ${name}: ${h.tasks} tasks, ${(h.taskMs / 1000).toFixed(1)} s in them; connect ${h.connectMs} ms, context upload ${h.uploadMs} ms, ${h.sessions} sessions x floor -> ssh ${h.sshMs} ms = ${h.overheadPercent}% of the host's time (goal < 10%); connections: report ${h.connections}, sshd ${h.sshdAccepted}`,
        );
      }
    });
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await farm.stop();
    await registry.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench/remote: ${(error as Error).message}\n`);
  process.exit(1);
});
