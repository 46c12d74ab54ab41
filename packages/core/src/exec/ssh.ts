/**
 * Pure pieces of running commands on a build host over OpenSSH: the ssh command lines
 * (one ControlMaster per host, strict host keys, batch mode), the remote shell commands
 * built with the one quoting function, and what ssh's own errors mean.
 */
import type { TaskFailure } from './failure.js';
import { shellCommand, shellWord } from './quote.js';

export interface SshTarget {
  /** The host's name in the spec, for messages. */
  name: string;
  user: string;
  host: string;
  port: number;
  identityFile?: string;
  /** A known_hosts file to check the host key against, instead of the user's own. */
  knownHosts?: string;
  /** Seconds to wait for the TCP connection and the handshake. */
  connectTimeout: number;
  /** The ControlMaster's socket, in a directory only this run can read. */
  controlPath: string;
}

/** Keepalives: a host that stops answering is given up after about 15 s, not the TCP timeout. */
const ALIVE_INTERVAL = 5;
const ALIVE_COUNT = 3;
/** A master left behind by a killed orchestrate closes itself after this long without a session. */
const PERSIST_SECONDS = 300;

/**
 * A file name as an ssh option value: double-quoted (ssh splits unquoted values at spaces)
 * with "%" doubled (ssh expands %-tokens in these). Names holding '"' are refused before a run.
 */
function optionPath(file: string): string {
  return `"${file.replaceAll('%', '%%')}"`;
}

function commonOptions(target: SshTarget): string[] {
  return [
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    ...(target.knownHosts === undefined
      ? []
      : ['-o', `UserKnownHostsFile=${optionPath(target.knownHosts)}`, '-o', 'GlobalKnownHostsFile=/dev/null']),
    '-o',
    `ConnectTimeout=${target.connectTimeout}`,
    '-o',
    `ServerAliveInterval=${ALIVE_INTERVAL}`,
    '-o',
    `ServerAliveCountMax=${ALIVE_COUNT}`,
    ...(target.identityFile === undefined
      ? []
      : ['-o', 'IdentitiesOnly=yes', '-o', `IdentityFile=${optionPath(target.identityFile)}`]),
    '-o',
    `ControlPath=${optionPath(target.controlPath)}`,
    '-p',
    String(target.port),
    '-l',
    target.user,
  ];
}

/** Opens the host's one connection: ssh forks into the background once it is authenticated, so this returns when the host is usable. */
export function masterArgs(target: SshTarget): string[] {
  return [
    'ssh',
    ...commonOptions(target),
    '-o',
    'ControlMaster=yes',
    '-o',
    `ControlPersist=${PERSIST_SECONDS}`,
    '-f',
    '-N',
    '--',
    target.host,
  ];
}

/**
 * Runs one remote command through the master (a new connection only if the master is gone).
 * `logFile`: ssh's own messages go there (-E), apart from the command's stderr, so a RUN step
 * that itself fails at ssh ("Host key verification failed") is not taken for ours failing.
 */
export function sessionArgs(target: SshTarget, remoteCommand: string, logFile?: string): string[] {
  return [
    'ssh',
    ...commonOptions(target),
    '-o',
    'ControlMaster=no',
    ...(logFile === undefined ? [] : ['-E', logFile]),
    '-T',
    '--',
    target.host,
    remoteCommand,
  ];
}

/** Asks the master (`check`: exits 0 while it is alive) or tells it to close (`exit`), through its socket. */
export function controlArgs(target: SshTarget, operation: 'check' | 'exit'): string[] {
  return ['ssh', '-o', `ControlPath=${optionPath(target.controlPath)}`, '-O', operation, '--', target.host];
}

/** A session ended 255 with nothing from ssh, and its master is gone: the host dropped the connection. */
export function lostConnection(target: Pick<SshTarget, 'name' | 'host' | 'port' | 'user'>): TaskFailure {
  return {
    reason: 'host-lost',
    exitCode: 255,
    message: `lost the connection to ${target.name} (${target.user}@${target.host}:${target.port}) while the command ran`,
    hint: 'the host went away mid-command (crashed, rebooted, network lost); the task was not retried; with "fallback: emulate" its platforms are built here instead',
  };
}

/**
 * The remote side of one command: into the run's directory, record the process id (the
 * shell's, which `exec` hands to the command) so an interrupt can stop it, then run the
 * arguments exactly as given. Every word is single-quoted: nothing in them is shell syntax there.
 * Every path is an operand after `--`, or a redirection; `exec` takes no `--` in dash, but its
 * first word is podman, skopeo or tar, or the host's podman path, which may not start with "-".
 * The pid is written before the cancel marker is looked at, and the kill script makes the
 * marker before it reads the pid: a Ctrl-C that comes before the command starts stops it either way.
 */
export function remoteCommand(cwd: string, argv: readonly string[], pidFile: string): string {
  const pid = shellWord(pidFile);
  return `cd -- ${shellWord(cwd)} && echo $$ > ${pid} && if [ -e ${shellWord(`${pidFile}.cancel`)} ]; then exit 143; fi && exec ${shellCommand(argv)}`;
}

/**
 * What the host's login shell must give back unchanged: sshd runs every command through it,
 * and quoting for POSIX sh means nothing to fish or csh.
 */
export const SHELL_PROBE = `q'uote "d" $(x) \`y\` \\ %s\n\tz`;

/** Between the shell probe and the listing of run directories in what setupCommand prints. */
export const RUN_DIRS_MARKER = '\n--- run directories\n';

/**
 * Creates the run's private directory on the host, writes stdin (the run's authfile) into it
 * with mode 0600 and the owner stamp beside it, echoes SHELL_PROBE back (checked: the login
 * shell is POSIX), then lists the run directories beside it with their owners
 * (`DIR<TAB>STAMP`), so that those of dead runs can be removed.
 */
export function setupCommand(runDir: string, owner: string): string {
  const dir = shellWord(runDir);
  const parent = shellWord(runDir.includes('/') ? runDir.slice(0, runDir.lastIndexOf('/')) || '/' : '.');
  return [
    `umask 077 && mkdir -p -- ${dir}/.pids && cat > ${dir}/auth.json && printf '%s\\n' ${shellWord(owner)} > ${dir}/owner`,
    `printf '%s' ${shellWord(SHELL_PROBE + RUN_DIRS_MARKER)}`,
    `{ for d in ${parent}/run-*/; do [ -f "$d/owner" ] && printf '%s\\t%s\\n' "$d" "$(head -n 1 -- "$d/owner")"; done; true; }`,
  ].join(' && ');
}

export function removeRunDirCommand(...runDirs: string[]): string {
  return `rm -rf -- ${runDirs.map(shellWord).join(' ')}`;
}

export function readFileCommand(cwd: string, file: string): string {
  return `cd -- ${shellWord(cwd)} && cat -- ${shellWord(file)}`;
}

/**
 * Stops a remote command and everything under it: the pid it recorded and all its
 * descendants (a RUN step's process sits in a session of its own, out of reach of the
 * group), frozen (SIGSTOP) while the tree is read so that none forks out of reach. The tree is read again every 0.1 s, and what appears (a RUN step starting as we
 * stop it, children of what we saw) is stopped too; SIGTERM first, SIGKILL to whatever is
 * left after 5 s. Needs only sh, ps, awk and kill. The cancel marker comes first: a command
 * that has not started yet sees it and does not start.
 */
export const KILL_TREE_SCRIPT = [
  ': > "$1.cancel"',
  'pid=$(cat -- "$1" 2>/dev/null) || exit 0',
  'seen=',
  // Every process whose ancestry reaches the command or something already seen under it.
  `scan() { ps -e -o pid= -o ppid= | awk -v root="$pid" -v seen="$seen" 'BEGIN { n = split(seen, s, " "); for (i = 1; i <= n; i++) known[s[i]] = 1 } { parent[$1] = $2 } END { for (p in parent) { q = p; while (q != root && !(q in known) && (q in parent) && q > 1) q = parent[q]; if (q == root || (q in known)) print p } }'; }`,
  // Frozen first, read until nothing new appears: what was being started (a RUN step's
  // container) cannot slip out of the tree between our look and its parent's death.
  'kill -STOP $pid 2>/dev/null',
  'r=0; while [ $r -lt 10 ]; do new=; for p in $(scan); do case " $seen " in *" $p "*) ;; *) seen="$seen $p"; new=1; kill -STOP $p 2>/dev/null;; esac; done; [ -z "$new" ] && break; r=$((r+1)); done',
  '[ -n "$seen" ] && kill -TERM $seen 2>/dev/null',
  'kill -CONT $pid $seen 2>/dev/null',
  'i=0',
  'while [ $i -lt 50 ]; do',
  '  for p in $(scan); do case " $seen " in *" $p "*) ;; *) seen="$seen $p"; kill -TERM $p 2>/dev/null;; esac; done',
  '  alive=; for p in $seen; do kill -0 $p 2>/dev/null && alive="$alive $p"; done',
  '  [ -z "$alive" ] && exit 0',
  '  sleep 0.1; i=$((i+1))',
  'done',
  'kill -KILL $alive 2>/dev/null',
  'exit 0',
].join('\n');

export function killTreeCommand(cwd: string, pidFile: string): string {
  return `cd -- ${shellWord(cwd)} && sh -c ${shellWord(KILL_TREE_SCRIPT)} sh ${shellWord(pidFile)}`;
}

/** The remote run's directory: under `workdir` (default: ~/.cache/orchestrate), one per run and host. */
export function remoteRunDir(workdir: string | undefined, runId: string, host: string): string {
  // ssh starts commands in the home directory: "~/x" is written as the relative "x", and
  // "~/-x" as "./-x", which no command there can take for an option.
  const base = (workdir ?? '.cache/orchestrate').replace(/^~\/?/, '') || '.';
  return `${base.startsWith('-') ? './' : ''}${base.replace(/\/+$/, '')}/run-${runId}-${host}`;
}

/**
 * What ssh itself said, when it (not the remote command) failed: ssh exits 255 for its own
 * errors. Undefined when the output is not one of ssh's errors.
 */
export function diagnoseSsh(
  target: Pick<SshTarget, 'name' | 'host' | 'port' | 'knownHosts' | 'user' | 'identityFile'>,
  exitCode: number,
  stderr: string,
): TaskFailure | undefined {
  if (exitCode !== 255) return undefined;
  const where = `${target.name} (${target.user}@${target.host}:${target.port})`;
  const knownHosts = target.knownHosts ?? '~/.ssh/known_hosts';
  const entry = target.port === 22 ? target.host : `[${target.host}]:${target.port}`;
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key for .* has changed/i.test(stderr)) {
    return {
      reason: 'host-key',
      exitCode,
      message: `${where}: the host key differs from the one in ${knownHosts}; refusing to connect (it may be reinstalled, or someone may be in between)`,
      hint: `check the new key's fingerprint with the host's owner; if it is right: ssh-keygen -R '${entry}' -f ${knownHosts}, then add the new key (ssh-keyscan -p ${target.port} ${target.host} >> ${knownHosts})`,
    };
  }
  if (/Host key verification failed|No \S+ host key is known for/i.test(stderr)) {
    return {
      reason: 'host-key',
      exitCode,
      message: `${where}: its host key is not in ${knownHosts}, and orchestrate never accepts an unknown key`,
      hint: `check the fingerprint with the host's owner, then add it: ssh-keyscan -p ${target.port} ${target.host} >> ${knownHosts} (or name a knownHosts file on the host in the spec)`,
    };
  }
  if (/Permission denied \(|Too many authentication failures/i.test(stderr)) {
    return {
      reason: 'host-auth',
      exitCode,
      message: `${where} refused the login: ${lastSshLine(stderr)}`,
      hint: `check the host's identityFile and that its public key is in ~${target.user}/.ssh/authorized_keys on ${target.host}`,
    };
  }
  if (
    /Connection (?:refused|timed out)|No route to host|Network is unreachable|Could not resolve hostname|Name or service not known|Operation timed out|Connection closed by .* port \d+$|kex_exchange_identification/im.test(
      stderr,
    ) &&
    !/client_loop|Broken pipe/i.test(stderr)
  ) {
    return {
      reason: 'host-unreachable',
      exitCode,
      message: `cannot reach ${where}: ${lastSshLine(stderr)}`,
      hint: `check that ${target.host} is up and sshd listens on port ${target.port} (ssh -p ${target.port}${target.identityFile === undefined ? '' : ` -i ${target.identityFile}`}${target.knownHosts === undefined ? '' : ` -o UserKnownHostsFile=${target.knownHosts}`} ${target.user}@${target.host} true); with "fallback: emulate" its platforms are built here instead`,
    };
  }
  if (
    /client_loop|Broken pipe|Connection reset|Timeout, server .* not responding|Connection to .* closed by remote host|mux_client_request_session/i.test(
      stderr,
    )
  ) {
    return {
      reason: 'host-lost',
      exitCode,
      message: `lost the connection to ${where}: ${lastSshLine(stderr)}`,
      hint: `the host went away mid-command (rebooted, crashed, network); the task was not retried; with "fallback: emulate" its platforms are built here instead`,
    };
  }
  return undefined;
}

function lastSshLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('@@@') && !l.startsWith('Warning: Permanently'));
  return (lines.at(-1) ?? 'ssh failed').slice(0, 300);
}
