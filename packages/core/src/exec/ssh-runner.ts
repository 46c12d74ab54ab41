/**
 * Runs a host's commands over OpenSSH: one ControlMaster per host per run (its socket in a
 * 0700 directory of this run), every command a session on it. ssh is a local process, so
 * the local runner spawns it; this adds what is remote: the run's directory and authfile
 * on the host, stopping the remote process tree on interrupt, and ssh's own failures.
 */
import { readFile, rm } from 'node:fs/promises';
import { diagnoseExit, type TaskFailure } from './failure.js';
import { deadRemoteRunDirs, ownerStamp } from './leftovers.js';
import { type FileRead, type Invocation, type ProcessOutcome, type RunOptions, type Runner } from './runner.js';
import {
  controlArgs,
  diagnoseSsh,
  killTreeCommand,
  lostConnection,
  masterArgs,
  readFileCommand,
  remoteCommand,
  removeRunDirCommand,
  sessionArgs,
  setupCommand,
  RUN_DIRS_MARKER,
  SHELL_PROBE,
  type SshTarget,
} from './ssh.js';

/** How long the local ssh client may outlive the remote kill before it is stopped here. */
const CLIENT_GRACE_MS = 8_000;

export interface SshTimings {
  /** Connections opened to the host (masters, plus any session that had to connect on its own). */
  connections: number;
  /** Time spent opening the master and setting up the run's directory. */
  connectMs: number;
}

/** A session's outcome, with what ssh itself said (its -E log), apart from the command's stderr. */
type Session = ProcessOutcome & { sshLog: string };

export class SshRunner implements Runner {
  private sessions = 0;
  private commands = 0;
  private closed: Promise<{ removed: boolean }> | undefined;
  private hideEnv: readonly string[] = [];
  private opened: Promise<TaskFailure | undefined> | undefined;
  /** The master came up: from then on the run's directory may exist on the host and must be removed. */
  private connected = false;
  readonly timings: SshTimings = { connections: 0, connectMs: 0 };
  /** Run directories of dead runs (on this machine) found on the host when connecting, and removed. */
  readonly swept: string[] = [];

  /**
   * @param local spawns the ssh client processes.
   * @param runDir the run's directory on the host (relative to the remote home, or absolute).
   * @param localDir where the ssh clients run; their -E logs go beside the control socket.
   */
  constructor(
    readonly target: SshTarget,
    readonly runDir: string,
    private readonly local: Runner,
    private readonly localDir: string,
  ) {}

  /**
   * Connects once and prepares the run's directory with the authfile (sent on stdin, never in
   * argv). `hideEnv`: variables holding secrets, kept from every ssh process (a SendEnv in
   * the user's ssh config would forward them). `signal` (Ctrl-C) stops a connect that hangs.
   */
  open(authfile: string, hideEnv: readonly string[], signal: AbortSignal): Promise<TaskFailure | undefined> {
    this.hideEnv = hideEnv;
    this.opened ??= this.connect(authfile, signal);
    return this.opened;
  }

  private async connect(authfile: string, signal: AbortSignal): Promise<TaskFailure | undefined> {
    const started = performance.now();
    const done = <T>(value: T): T => {
      this.timings.connectMs += performance.now() - started;
      return value;
    };
    const master = await this.local.run(
      { argv: masterArgs(this.target), cwd: this.localDir, hideEnv: this.hideEnv },
      { signal, onLine: () => {} },
    );
    this.timings.connections++;
    if (master.terminated)
      return done({ reason: 'interrupted', message: `stopped while connecting to ${this.target.name}` });
    if (master.spawnError)
      return done({
        reason: 'command-not-found',
        message: `ssh could not be started: ${master.spawnError.message}`,
        hint: 'install the OpenSSH client (openssh-client)',
      });
    if (master.exitCode !== 0) return done(this.sshFailure(master.exitCode, master.stderr, 'could not connect'));
    this.connected = true;
    const setup = await this.session(setupCommand(this.runDir, ownerStamp()), { stdin: authfile, signal });
    if (setup.terminated)
      return done({ reason: 'interrupted', message: `stopped while setting up ${this.target.name}` });
    if (setup.exitCode === 255)
      return done(this.sshFailure(255, setup.sshLog || setup.stderr, 'could not create the run directory'));
    if (setup.exitCode !== 0) {
      // Connected, but the directory or authfile cannot be written: a full disk is the host's fault (and falls back).
      const diagnosis = diagnoseExit(setup.exitCode, setup.stderr);
      if (diagnosis.failure.reason === 'no-space')
        return done({ ...diagnosis.failure, message: `${this.target.name}: ${diagnosis.failure.message}` });
      return done({
        reason: 'command-failed',
        exitCode: setup.exitCode,
        message: `${this.target.name}: cannot create the run directory ${this.runDir}: ${diagnosis.failure.message}`,
        hint: "set the host's workdir to a directory its user may write to",
      });
    }
    const marker = setup.stdout.indexOf(RUN_DIRS_MARKER);
    if (marker < 0 || setup.stdout.slice(0, marker) !== SHELL_PROBE) {
      return done({
        reason: 'command-failed',
        message: `${this.target.name}: the login shell of ${this.target.user} changes quoted text (${JSON.stringify(setup.stdout.slice(0, 60))}); commands would not arrive as written`,
        hint: `give ${this.target.user} a POSIX login shell on ${this.target.host} (sh, bash, dash, zsh): chsh -s /bin/sh ${this.target.user}`,
      });
    }
    // A run killed before its cleanup left its authfile there: removed now, and said in the report.
    const dead = deadRemoteRunDirs(setup.stdout.slice(marker + RUN_DIRS_MARKER.length), this.runDir);
    if (dead.length > 0 && (await this.session(removeRunDirCommand(...dead))).exitCode === 0) this.swept.push(...dead);
    done(undefined);
    return undefined;
  }

  /** What ssh said when it, not the command, failed; any other 255 counts as not reaching the host. */
  private sshFailure(exitCode: number, text: string, what: string): TaskFailure {
    return (
      diagnoseSsh(this.target, exitCode, text) ?? {
        reason: 'host-unreachable',
        message: `${this.target.name}: ${what}: ${text.trim().split('\n').at(-1) ?? `exit ${exitCode}`}`,
        exitCode,
      }
    );
  }

  /** One session through the master. ssh's own messages go to a log file of the run's private directory (-E). */
  private async session(
    command: string,
    options: { stdin?: Invocation['stdin']; signal?: AbortSignal; onLine?: RunOptions['onLine'] } = {},
  ): Promise<Session> {
    const log = `${this.target.controlPath}.${++this.sessions}.log`;
    const outcome = await this.local.run(
      {
        argv: sessionArgs(this.target, command, log),
        cwd: this.localDir,
        ...(options.stdin !== undefined && { stdin: options.stdin }),
        hideEnv: this.hideEnv,
      },
      { signal: options.signal ?? new AbortController().signal, onLine: options.onLine ?? (() => {}) },
    );
    const sshLog = await readFile(log, 'utf8').catch(() => '');
    await rm(log, { force: true });
    // Without its master (gone idle, or lost) a session connects on its own: count it.
    if (/Control socket connect/.test(sshLog)) this.timings.connections++;
    return { ...outcome, sshLog };
  }

  async run(invocation: Invocation, options: RunOptions): Promise<ProcessOutcome> {
    if (options.signal.aborted) return { exitCode: 143, stdout: '', stderr: '', terminated: true };
    const pidFile = `.pids/${++this.commands}`;
    const client = new AbortController();
    let stopping: Promise<unknown> | undefined;
    // Interrupt: stop the remote process tree first (the ssh client's death alone leaves it
    // running there); the client then ends by itself, or is stopped after a grace period.
    const stop = (): void => {
      stopping ??= this.session(killTreeCommand(this.runDir, pidFile)).finally(() => {
        setTimeout(() => client.abort(), 500).unref();
      });
      setTimeout(() => client.abort(), CLIENT_GRACE_MS).unref();
    };
    options.signal.addEventListener('abort', stop, { once: true });
    try {
      const outcome = await this.session(remoteCommand(invocation.cwd, invocation.argv, pidFile), {
        ...(invocation.stdin !== undefined && { stdin: invocation.stdin }),
        signal: client.signal,
        onLine: options.onLine,
      });
      if (stopping) await stopping;
      const terminated = outcome.terminated || options.signal.aborted;
      const { sshLog, ...result } = outcome;
      if (terminated || outcome.exitCode !== 255) return { ...result, terminated };
      const hostFailure = await this.hostFailure(sshLog);
      return { ...result, terminated, ...(hostFailure && { hostFailure }) };
    } finally {
      options.signal.removeEventListener('abort', stop);
    }
  }

  /**
   * Why a session exited 255, when the host (not the command) is the reason: ssh said so in
   * its log, or said nothing while the master it went through has died. A command of the
   * host's own that exits 255 leaves the log empty and the master alive.
   */
  private async hostFailure(sshLog: string): Promise<TaskFailure | undefined> {
    const said = diagnoseSsh(this.target, 255, sshLog);
    if (said) return said;
    const throughMaster = !/Control socket connect/.test(sshLog);
    return throughMaster && !(await this.masterAlive()) ? lostConnection(this.target) : undefined;
  }

  private async masterAlive(): Promise<boolean> {
    return (await this.control('check')).exitCode === 0;
  }

  private control(operation: 'check' | 'exit'): Promise<ProcessOutcome> {
    return this.local.run(
      { argv: controlArgs(this.target, operation), cwd: this.localDir, hideEnv: this.hideEnv },
      { signal: new AbortController().signal, onLine: () => {} },
    );
  }

  /** A file the run wrote on the host (a digest), relative to `cwd` there. */
  async readFile(cwd: string, file: string): Promise<FileRead> {
    const outcome = await this.session(readFileCommand(cwd, file));
    if (outcome.exitCode === 255) {
      const failure = await this.hostFailure(outcome.sshLog);
      if (failure) return { ok: false, failure, hostFailed: true };
    }
    if (outcome.exitCode !== 0)
      return {
        ok: false,
        failure: {
          reason: 'command-failed',
          message: outcome.stderr.trim() || `cannot read ${file} on ${this.target.name}`,
        },
        hostFailed: false,
      };
    return { ok: true, text: outcome.stdout };
  }

  /**
   * Removes the run's directory from the host (authfile, contexts) and closes the master.
   * Whether it went is in `removed`: a host that died keeps it until someone removes it.
   */
  close(): Promise<{ removed: boolean }> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  private async shutdown(): Promise<{ removed: boolean }> {
    if (!this.opened) return { removed: true };
    await this.opened;
    const removed = this.connected ? (await this.session(removeRunDirCommand(this.runDir))).exitCode === 0 : true;
    await this.control('exit');
    return { removed };
  }

  killAll(): void {
    this.local.killAll();
  }
}
