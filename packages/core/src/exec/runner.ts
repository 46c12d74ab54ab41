import type { Readable } from 'node:stream';
import type { TaskFailure } from './failure.js';

/**
 * How a task's command is run: the one seam between the executor and processes. The local
 * runner spawns podman here; a remote runner (ssh) implements the same interface, so the
 * scheduler and the task logic never know where a command runs.
 */

export interface Invocation {
  argv: readonly string[];
  /** Directory the command runs in (the spec's directory: argv paths are relative to it). */
  cwd: string;
  /** Written to stdin, then closed: a registry password for `login --password-stdin`, a build context as a tar stream. */
  stdin?: string | Readable;
  /** Variables of this process's environment the command must not inherit (the ones holding secrets). */
  hideEnv?: readonly string[];
}

export interface ProcessOutcome {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Set when the command could not be started at all (not installed, say). */
  spawnError?: Error;
  /** Ended by a signal we sent (interrupt), not by itself. */
  terminated: boolean;
  /** Terminated by us because it made no progress for RunOptions.idleTimeoutMs (a registry that stopped answering). */
  stalled?: true;
  /** The build host, not the command, failed: ssh could not connect, or lost the connection. */
  hostFailure?: TaskFailure;
}

export interface RunOptions {
  /** Aborting terminates the command's whole process group (SIGTERM, then SIGKILL after a grace period). */
  signal: AbortSignal;
  /**
   * Terminate the command when it has neither printed a line nor read or written a byte
   * (its whole process tree, here) for this long: a registry that accepts a connection and
   * then goes silent would otherwise hold a push for minutes.
   */
  idleTimeoutMs?: number;
  /** Each line of output as it comes, for live display. */
  onLine: (line: string, stream: 'stdout' | 'stderr') => void;
}

export interface Runner {
  run(invocation: Invocation, options: RunOptions): Promise<ProcessOutcome>;
  /**
   * A file a command wrote (a pushed digest), relative to `cwd`, where the commands run. A
   * file that cannot be read, or a host that failed meanwhile, is a failure value, never thrown.
   */
  readFile(cwd: string, file: string): Promise<FileRead>;
  /** Second Ctrl-C: SIGKILL every process group this runner started that is still alive. */
  killAll(): void;
}

/** What reading a file where the commands run came to: its text, or why not, as a value. */
export type FileRead =
  | { ok: true; text: string }
  /** `hostFailed`: the build host failed (connection lost), not the file. */
  | { ok: false; failure: TaskFailure; hostFailed: boolean };
