/**
 * The doctor's build-host checks, over the same ssh connection `build` opens (exec/ssh-runner):
 * reachable with a known host key, podman, skopeo and tar there, its architecture the one
 * it claims, and free disk in its podman storage.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkHosts, listConnections, sshTarget } from '../exec/hosts.js';
import type { Runner } from '../exec/runner.js';
import { remoteRunDir } from '../exec/ssh.js';
import { SshRunner } from '../exec/ssh-runner.js';
import { newRunId } from '../exec/values.js';
import type { Model } from '../model/types.js';
import type { Plan } from '../plan/types.js';
import { interpretHostArch, interpretHostConnect } from './interpret-host.js';
import { interpretTool } from './interpret.js';
import { checkDisk, probe } from './local.js';
import type { CheckResult } from './types.js';

async function checkHost(
  name: string,
  plan: Plan,
  model: Model,
  ssh: SshRunner,
  address: string,
): Promise<CheckResult[]> {
  const failure = await ssh.open(JSON.stringify({ auths: {} }), [], AbortSignal.timeout(60_000));
  const connect = interpretHostConnect(name, address, failure);
  if (failure) return [connect];
  const cwd = ssh.runDir;
  const podman = model.hosts.find((h) => h.name === name && h.kind === 'ssh');
  const podmanPath = podman?.kind === 'ssh' ? podman.podman : 'podman';
  const where = { host: name, check: 'host-tool' as const };
  const tools = await Promise.all(
    [podmanPath, 'skopeo', 'tar'].map(async (tool) =>
      interpretTool(tool, await probe(ssh, [tool, '--version'], cwd), where),
    ),
  );
  const arch = interpretHostArch(name, plan.hosts[name]?.platforms ?? [], await probe(ssh, ['uname', '-m'], cwd));
  const disk = await checkDisk(ssh, `host ${name}`, podmanPath, cwd);
  return [connect, ...tools, arch, disk];
}

/** Every build host the plan runs tasks on. */
export async function checkBuildHosts(
  plan: Plan,
  model: Model,
  specDir: string,
  runner: Runner,
): Promise<CheckResult[]> {
  const used = new Set(plan.tasks.map((t) => t.host));
  const remote = Object.entries(plan.hosts).filter(([name, h]) => h.kind === 'ssh' && used.has(name));
  if (remote.length === 0) return [];
  // Unreadable key files, unknown podman connections: what build would refuse before starting.
  const refused = await checkHosts(plan, specDir, runner);
  const needsConnections = remote.some(([, h]) => h.connection !== undefined);
  const found = needsConnections ? await listConnections(runner, specDir) : undefined;
  const connections = found?.ok ? found.connections : [];
  const controlDir = await mkdtemp(path.join(tmpdir(), 'orchestrate-doctor-ssh-'));
  const runId = newRunId(new Date(), Math.random);
  try {
    const rows = await Promise.all(
      remote.map(async ([name, host], i): Promise<CheckResult[]> => {
        const problem = refused.find((d) => d.message.startsWith(`host ${name}:`));
        const target = sshTarget(name, host, { specDir, connections }, path.join(controlDir, `ssh-${i}`));
        if (problem || !target)
          return [
            {
              check: 'host-connect',
              subject: `host ${name}`,
              status: 'fail',
              message: problem?.message ?? `host ${name} has no address: its podman connection is not known here`,
              fix:
                problem?.hint ??
                'add the connection with `podman system connection add`, or write "ssh: user@host:port"',
            },
          ];
        const ssh = new SshRunner(target, remoteRunDir(host.workdir, runId, name), runner, controlDir);
        try {
          return await checkHost(name, plan, model, ssh, `${target.user}@${target.host}:${target.port}`);
        } finally {
          await ssh.close();
        }
      }),
    );
    return rows.flat();
  } finally {
    await rm(controlDir, { recursive: true, force: true });
  }
}
