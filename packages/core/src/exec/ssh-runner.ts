/**
 * Runs a host's commands over OpenSSH: one ControlMaster per host per run (its socket in a
 * 0700 directory of this run), every command a session on it. ssh is a local process, so
 * the local runner spawns it; this adds what is remote: the run's directory and authfile
 * on the host, stopping the remote process tree on interrupt, and ssh's own failures.
 */
import type { TaskFailure } from './failure.js';
import { HostFailure, type Invocation, type ProcessOutcome, type RunOptions, type Runner } from './runner.js';
import {
  checkArgs,
  closeArgs,
  lostConnection,
  diagnoseSsh,
  killTreeCommand,
  masterArgs,
  readFileCommand,
  remoteCommand,
  removeRunDirCommand,
  sessionArgs,
  setupCommand,
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

export class SshRunner implements Runner {
  private pids = 0;
  private hideEnv: readonly string[] = [];
  private opened: Promise<TaskFailure | undefined> | undefined;
  readonly timings: SshTimings = { connections: 0, connectMs: 0 };

  /**
   * @param local spawns the ssh client processes.
   * @param runDir the run's directory on the host (relative to the remote home, or absolute).
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
   * the user's ssh config would forward them).
   */
  open(authfile: string, hideEnv: readonly string[]): Promise<TaskFailure | undefined> {
    this.hideEnv = hideEnv;
    this.opened ??= this.connect(authfile);
    return this.opened;
  }

  private async connect(authfile: string): Promise<TaskFailure | undefined> {
    const started = performance.now();
    const never = new AbortController().signal;
    const master = await this.local.run({ argv: masterArgs(this.target), cwd: this.localDir, hideEnv: this.hideEnv }, { signal: never, onLine: () => {} });
    this.timings.connections++;
    if (master.exitCode !== 0 || master.spawnError) {
      this.timings.connectMs += performance.now() - started;
      return this.failure(master, 'could not connect');
    }
    const setup = await this.ssh(setupCommand(this.runDir), authfile);
    this.timings.connectMs += performance.now() - started;
    if (setup.exitCode === 0) return undefined;
    if (setup.exitCode === 255) return this.failure(setup, 'could not create the run directory');
    // Connected, but the directory cannot be made: the host's setup, not its reachability.
    return {
      reason: 'command-failed', exitCode: setup.exitCode,
      message: `${this.target.name}: cannot create the run directory ${this.runDir}: ${setup.stderr.trim().split('\n').at(-1) ?? ''}`,
      hint: 'set the host\'s workdir to a directory its user may write to',
    };
  }

  private failure(outcome: ProcessOutcome, what: string): TaskFailure {
    if (outcome.spawnError) return { reason: 'command-not-found', message: `ssh could not be started: ${outcome.spawnError.message}`, hint: 'install the OpenSSH client (openssh-client)' };
    return diagnoseSsh(this.target, outcome.exitCode, outcome.stderr) ?? {
      reason: 'host-unreachable',
      message: `${this.target.name}: ${what}: ${outcome.stderr.trim().split('\n').at(-1) ?? `exit ${outcome.exitCode}`}`,
      exitCode: outcome.exitCode,
    };
  }

  /** One command through the master, with no interrupt of its own. */
  private ssh(command: string, stdin?: string): Promise<ProcessOutcome> {
    return this.local.run(
      { argv: sessionArgs(this.target, command), cwd: this.localDir, ...(stdin !== undefined && { stdin }), hideEnv: this.hideEnv },
      { signal: new AbortController().signal, onLine: () => {} },
    );
  }

  async run(invocation: Invocation, options: RunOptions): Promise<ProcessOutcome> {
    const pidFile = `.pids/${++this.pids}`;
    const client = new AbortController();
    let stopping: Promise<unknown> | undefined;
    // Interrupt: stop the remote process tree first (the ssh client's death alone leaves it
    // running there); the client then ends by itself, or is stopped after a grace period.
    const stop = (): void => {
      stopping ??= this.ssh(killTreeCommand(this.runDir, pidFile)).finally(() => {
        setTimeout(() => client.abort(), 500).unref();
      });
      setTimeout(() => client.abort(), CLIENT_GRACE_MS).unref();
    };
    if (options.signal.aborted) stop();
    else options.signal.addEventListener('abort', stop, { once: true });
    try {
      const outcome = await this.local.run(
        {
          argv: sessionArgs(this.target, remoteCommand(invocation.cwd, invocation.argv, pidFile)),
          cwd: this.localDir,
          ...(invocation.stdin !== undefined && { stdin: invocation.stdin }),
          hideEnv: [...this.hideEnv, ...(invocation.hideEnv ?? [])],
        },
        { signal: client.signal, onLine: options.onLine },
      );
      if (stopping) await stopping;
      const terminated = outcome.terminated || options.signal.aborted;
      if (/Control socket connect/.test(outcome.stderr) && !terminated) this.timings.connections++;
      let hostFailure = terminated ? undefined : diagnoseSsh(this.target, outcome.exitCode, outcome.stderr);
      // A session whose master died says nothing itself: ask whether the master is still there.
      if (!terminated && !hostFailure && outcome.exitCode === 255 && !(await this.masterAlive())) hostFailure = lostConnection(this.target);
      return { ...outcome, terminated, ...(hostFailure && { hostFailure }) };
    } finally {
      options.signal.removeEventListener('abort', stop);
    }
  }

  private async masterAlive(): Promise<boolean> {
    const check = await this.local.run({ argv: checkArgs(this.target), cwd: this.localDir, hideEnv: this.hideEnv }, { signal: new AbortController().signal, onLine: () => {} });
    return check.exitCode === 0;
  }

  /** A file the run wrote on the host (a digest), relative to `cwd` there. */
  async readFile(cwd: string, file: string): Promise<string> {
    const outcome = await this.ssh(readFileCommand(cwd, file));
    if (outcome.exitCode === 255) {
      const failure = diagnoseSsh(this.target, outcome.exitCode, outcome.stderr) ?? (!(await this.masterAlive()) ? lostConnection(this.target) : undefined);
      if (failure) throw new HostFailure(failure);
    }
    if (outcome.exitCode !== 0) throw new Error(outcome.stderr.trim() || `cannot read ${file} on ${this.target.name}`);
    return outcome.stdout;
  }

  /** Removes the run's directory from the host (authfile, contexts) and closes the master. */
  async close(): Promise<void> {
    if (!this.opened) return;
    const failed = await this.opened;
    if (failed === undefined) await this.ssh(removeRunDirCommand(this.runDir));
    await this.local.run({ argv: closeArgs(this.target), cwd: this.localDir, hideEnv: this.hideEnv }, { signal: new AbortController().signal, onLine: () => {} });
  }

  killAll(): void {
    this.local.killAll();
  }
}
