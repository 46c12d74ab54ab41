/**
 * Where each host's commands run, and what its run-time values are there: the local runner
 * in the spec's directory, or an ssh runner in the run's private directory on the build host
 * (its authfile and digest files live there, named relative to it).
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import type { Diagnostic } from '../diagnostics.js';
import { SSH_HOST, SSH_USER } from '../model/infrastructure.js';
import type { Plan, PlanHost } from '../plan/types.js';
import type { Runner } from './runner.js';
import { policyOf } from './kinds.js';
import { remoteRunDir, type SshTarget } from './ssh.js';
import { SshRunner } from './ssh-runner.js';
import type { RunValues } from './values.js';
import { localSecretFile } from './build-secrets.js';

export interface HostContext {
  runner: Runner;
  /** Where argv paths are relative to: the spec's directory here, the run's directory there. */
  cwd: string;
  values: RunValues & { digests: Map<string, string>; imageIds: Map<string, string> };
  /** Set for build hosts over ssh. */
  ssh?: SshRunner;
}

/** A podman system connection, as `podman system connection list --format json` prints it. */
export interface PodmanConnection {
  Name: string;
  URI: string;
  Identity?: string;
}

export interface HostSetup {
  plan: Plan;
  specDir: string;
  /** This run's private local directory (0700): the local authfile and digests, the ssh control sockets. */
  runDir: string;
  runId: string;
  digests: Map<string, string>;
  local: Runner;
  /** podman system connections, for hosts that name one. */
  connections: readonly PodmanConnection[];
}

export function hostContexts(setup: HostSetup): Map<string, HostContext> {
  const index = new Map(setup.plan.tasks.map((t, i) => [t.id, i]));
  // By index: task ids can be longer than a file name may be.
  const digestName = (id: string): string => `${index.get(id) ?? 'unknown'}.digest`;
  const contexts = new Map<string, HostContext>();
  // Per host: an id found in one host's storage names nothing on another.
  const imageIds = (): Map<string, string> => new Map();
  let n = 0;
  for (const [name, host] of Object.entries(setup.plan.hosts)) {
    if (host.kind === 'local') {
      contexts.set(name, {
        runner: setup.local,
        cwd: setup.specDir,
        values: {
          runId: setup.runId,
          authfile: path.join(setup.runDir, 'auth.json'),
          digestFile: (id) => path.join(setup.runDir, digestName(id)),
          digests: setup.digests,
          imageIds: imageIds(),
          secretFile: (name) => localSecretFile(setup.runDir, name),
        },
      });
      continue;
    }
    const target = sshTarget(name, host, setup, path.join(setup.runDir, `ssh-${n++}`));
    if (!target) continue; // an unknown connection: checkRunInputs said so before the run
    const runDir = remoteRunDir(host.workdir, setup.runId, name);
    const ssh = new SshRunner(target, runDir, setup.local, setup.specDir);
    contexts.set(name, {
      runner: ssh,
      cwd: runDir,
      ssh,
      values: {
        runId: setup.runId,
        authfile: 'auth.json',
        digestFile: digestName,
        digests: setup.digests,
        imageIds: imageIds(),
        // Relative to the run's directory there, where the commands run; written by `secret` tasks.
        secretFile: (name) => `secrets/${name}`,
      },
    });
  }
  return contexts;
}

/** A file the spec names for a host: relative to the spec's directory, or ~/... */
export function hostFile(specDir: string, written: string): string {
  return written.startsWith('~/') ? path.join(homedir(), written.slice(2)) : path.resolve(specDir, written);
}

/** The ssh address of a host: written in the spec, or taken from a podman system connection. */
export function sshTarget(
  name: string,
  host: PlanHost,
  setup: Pick<HostSetup, 'specDir' | 'connections'>,
  controlPath: string,
): SshTarget | undefined {
  const file = (written: string | undefined) => (written === undefined ? undefined : hostFile(setup.specDir, written));
  const common = {
    name,
    connectTimeout: host.connectTimeout ?? 10,
    controlPath,
    ...(host.knownHosts !== undefined && { knownHosts: file(host.knownHosts)! }),
  };
  if (host.address !== undefined) {
    const match = /^(.+)@(.+):(\d+)$/.exec(host.address);
    if (!match) return undefined;
    return {
      ...common,
      user: match[1]!,
      host: match[2]!.replace(/^\[(.*)\]$/, '$1'),
      port: Number(match[3]),
      ...(host.identityFile !== undefined && { identityFile: file(host.identityFile)! }),
    };
  }
  const connection = setup.connections.find((c) => c.Name === host.connection);
  if (!connection) return undefined;
  const address = parseConnectionUri(connection.URI);
  if (!address) return undefined;
  const identity = host.identityFile !== undefined ? file(host.identityFile) : connection.Identity || undefined;
  return { ...common, ...address, ...(identity !== undefined && { identityFile: identity }) };
}

/** ssh://user@host:port/run/podman/podman.sock -> user, host, port; undefined for anything but a safe ssh URI. */
export function parseConnectionUri(uri: string): { user: string; host: string; port: number } | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'ssh:' || url.username === '') return undefined;
  const user = decodeURIComponent(url.username);
  // The same rules as an ssh address written in the spec: nothing ssh or a shell reads as an option or syntax.
  if (!SSH_USER.test(user) || !SSH_HOST.test(url.hostname)) return undefined;
  return { user, host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port === '' ? 22 : Number(url.port) };
}

/** Before a run: every podman connection named exists, every identity and known_hosts file is readable. */
export async function checkHosts(plan: Plan, specDir: string, runner: Runner | undefined): Promise<Diagnostic[]> {
  const diagnostics: Diagnostic[] = [];
  const used = new Set(plan.tasks.map((t) => t.host));
  const remote = Object.entries(plan.hosts).filter(([name, host]) => host.kind === 'ssh' && used.has(name));
  const listed =
    remote.some(([, h]) => h.connection !== undefined) && runner
      ? await listConnections(runner, specDir)
      : { ok: true as const, connections: [] };
  for (const [name, host] of remote) {
    const connection = listed.ok ? listed.connections.find((c) => c.Name === host.connection) : undefined;
    if (host.connection !== undefined && !listed.ok) {
      diagnostics.push({
        severity: 'error',
        code: 'connection-not-found',
        file: plan.spec,
        message: `host ${name}: cannot list podman's system connections: ${listed.why}`,
        hint: 'check that podman runs here, or write the address as "ssh: user@host:port"',
      });
    } else if (host.connection !== undefined && !connection) {
      const known = (listed.ok ? listed.connections : []).map((c) => c.Name).join(', ') || 'none';
      diagnostics.push({
        severity: 'error',
        code: 'connection-not-found',
        file: plan.spec,
        message: `host ${name}: podman has no system connection "${host.connection}" (it has: ${known})`,
        hint: 'add it with `podman system connection add NAME ssh://user@host:port`, or write the address as "ssh: user@host:port"',
      });
    } else if (connection && !parseConnectionUri(connection.URI)) {
      diagnostics.push({
        severity: 'error',
        code: 'invalid-ssh-address',
        file: plan.spec,
        message: `host ${name}: podman connection "${connection.Name}" has the URI ${connection.URI}, which is not ssh://user@host[:port] with a plain user and host name`,
        hint: 'orchestrate runs podman over ssh: point the connection at an ssh:// URI, or write the address as "ssh: user@host:port"',
      });
    }
    for (const key of ['identityFile', 'knownHosts'] as const) {
      const written = host[key];
      if (written === undefined) continue;
      if (/["\n]/.test(written)) {
        diagnostics.push({
          severity: 'error',
          code: 'invalid-value',
          file: plan.spec,
          message: `host ${name}: ${key} ${JSON.stringify(written)} holds a double quote or a line break, which ssh cannot take in a file name`,
          hint: 'rename or move the file',
        });
        continue;
      }
      const problem = await access(hostFile(specDir, written), constants.R_OK).then(
        () => undefined,
        (error: unknown) => (error as Error).message,
      );
      if (problem !== undefined) {
        diagnostics.push({
          severity: 'error',
          code: 'file-unreadable',
          file: plan.spec,
          message: `host ${name}: cannot read ${key} ${written}: ${problem}`,
          hint:
            key === 'identityFile'
              ? 'fix the path (relative to the spec, or ~/...), or create the key with ssh-keygen'
              : 'fix the path, or record the host key: ssh-keyscan -p PORT HOST >> FILE (after checking its fingerprint)',
        });
      }
    }
  }
  return diagnostics;
}

/** podman's system connections (`podman system connection list --format json`). */
export async function listConnections(
  runner: Runner,
  cwd: string,
): Promise<{ ok: true; connections: PodmanConnection[] } | { ok: false; why: string }> {
  const outcome = await runner.run(
    { argv: ['podman', 'system', 'connection', 'list', '--format', 'json'], cwd },
    { signal: new AbortController().signal, onLine: () => {} },
  );
  if (outcome.exitCode !== 0 || outcome.spawnError)
    return { ok: false, why: outcome.spawnError?.message ?? (outcome.stderr.trim() || `exit ${outcome.exitCode}`) };
  try {
    const parsed = JSON.parse(outcome.stdout || '[]') as unknown;
    return { ok: true, connections: Array.isArray(parsed) ? (parsed as PodmanConnection[]) : [] };
  } catch (error) {
    return { ok: false, why: `podman printed no JSON: ${(error as Error).message}` };
  }
}

/**
 * What the build hosts get of this machine's credentials: only the entries for the registries
 * their commands talk to (the spec's, and those their base images come from), and nothing at
 * all when no command there reads the authfile (--no-push).
 */
export function remoteAuths(plan: Plan, auths: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const remote = plan.tasks.filter((t) => plan.hosts[t.host]?.kind === 'ssh');
  if (!remote.some((t) => t.argv.some((a) => typeof a !== 'string' && a.ref === 'authfile'))) return {};
  const servers = new Set(Object.values(plan.registries).map((r) => registryHost(r.server)));
  for (const task of remote)
    for (const reference of policyOf(task).registries(task)) servers.add(registryHost(reference));
  return Object.fromEntries(Object.entries(auths).filter(([key]) => servers.has(registryHost(key))));
}

/** "https://index.docker.io/v1/", "docker.io/library/x:1" -> "docker.io"; "reg:5000/ns" -> "reg:5000". */
export function registryHost(reference: string): string {
  const host = reference
    .replace(/^[a-z]+:\/\//i, '')
    .split('/')[0]!
    .toLowerCase();
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? 'docker.io' : host;
}
