/**
 * Runs commands on this machine with execa. Each command leads its own process group
 * (detached), so an interrupt reaches podman and everything podman started (buildah,
 * runc, the container's processes), not just the podman process.
 */
import { readFile } from 'node:fs/promises';
import { constants } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { descendants, descendantsOf, ioBytes, signalProcess, startTime } from './process-tree.js';
import type { FileRead, Invocation, ProcessOutcome, RunOptions, Runner } from './runner.js';

/** How long a terminated command gets to clean up before SIGKILL. */
const TERMINATE_GRACE_MS = 5_000;
/** How often the process tree is read again while a terminated command winds down. */
const TREE_POLL_MS = 200;

export class LocalRunner implements Runner {
  /** Running commands: leader pid -> descendants seen since it was told to stop. */
  private readonly groups = new Map<number, Map<number, string | undefined>>();

  /**
   * `hidden`: environment variables no command of this runner inherits, whatever it is run
   * for (a run's secrets: pre-flight probes must not see them either).
   */
  constructor(
    private readonly graceMs = TERMINATE_GRACE_MS,
    private readonly hidden: readonly string[] = [],
  ) {}

  async run(invocation: Invocation, options: RunOptions): Promise<ProcessOutcome> {
    const [file, ...args] = invocation.argv;
    if (file === undefined) throw new Error('empty argv');
    let lines = 0;
    const lineTap = (stream: 'stdout' | 'stderr') =>
      function* (line: unknown): Generator {
        lines++;
        options.onLine(String(line), stream);
        yield line;
      };
    const subprocess = execa(file, args, {
      cwd: invocation.cwd,
      reject: false,
      detached: true,
      stripFinalNewline: false,
      ...(invocation.stdin === undefined ? { stdin: 'ignore' as const } : { input: invocation.stdin }),
      stdout: ['pipe', lineTap('stdout')],
      stderr: ['pipe', lineTap('stderr')],
      // LC_ALL=C: the failure rules read podman's messages in English.
      extendEnv: false,
      env: { ...withoutSecrets(process.env, [...this.hidden, ...(invocation.hideEnv ?? [])]), LC_ALL: 'C' },
    });
    const pid = subprocess.pid;
    let terminated = false;
    let killTimer: NodeJS.Timeout | undefined;
    let pollTimer: NodeJS.Timeout | undefined;
    // Everything ever seen under the command after it was told to stop: killed at the end,
    // even what was reparented to init when podman exited (a RUN step's process).
    const seen = new Map<number, string | undefined>();
    const look = (): void => {
      if (pid !== undefined)
        for (const child of descendants(pid)) if (!seen.has(child)) seen.set(child, startTime(child));
    };
    const terminate = (): void => {
      if (pid === undefined || terminated) return;
      terminated = true;
      // Frozen while the tree is read, until nothing new appears: a container being started
      // as we stop podman would otherwise fork after our look and outlive its parent.
      signalGroup(pid, 'SIGSTOP');
      for (let round = 0, before = -1; round < 10 && seen.size !== before; round++) {
        before = seen.size;
        look();
        for (const [child, started] of seen) signalProcess(child, 'SIGSTOP', started);
      }
      signalGroup(pid, 'SIGTERM');
      for (const [child, started] of seen) signalProcess(child, 'SIGTERM', started);
      signalGroup(pid, 'SIGCONT');
      for (const [child, started] of seen) signalProcess(child, 'SIGCONT', started);
      pollTimer = setInterval(look, TREE_POLL_MS);
      killTimer = setTimeout(() => this.kill(pid, seen), this.graceMs);
      killTimer.unref();
    };
    if (pid !== undefined) this.groups.set(pid, seen);
    let stalled = false;
    const idleTimer =
      pid === undefined || options.idleTimeoutMs === undefined
        ? undefined
        : watchIdle(
            pid,
            options.idleTimeoutMs,
            () => lines,
            () => {
              stalled = true;
              terminate();
            },
          );
    if (options.signal.aborted) terminate();
    else options.signal.addEventListener('abort', terminate, { once: true });
    try {
      const result = await subprocess;
      const outcome: ProcessOutcome = {
        exitCode:
          result.exitCode ??
          (result.signal ? 128 + ((constants.signals[result.signal] as number | undefined) ?? 0) : 1),
        stdout: result.stdout,
        stderr: result.stderr,
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by the abort listener meanwhile
        terminated: terminated || result.isCanceled,
        ...((stalled as boolean) ? { stalled: true as const } : {}),
      };
      if (
        result.failed &&
        result.exitCode === undefined &&
        result.signal === undefined &&
        result.cause instanceof Error
      ) {
        outcome.spawnError = result.cause;
      }
      return outcome;
    } finally {
      options.signal.removeEventListener('abort', terminate);
      if (killTimer) clearTimeout(killTimer);
      if (idleTimer) clearInterval(idleTimer);
      if (pollTimer) clearInterval(pollTimer);
      if (pid !== undefined) {
        // What outlived its leader (a RUN step's process, podman's helpers) goes too.
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by the abort listener meanwhile
        if (terminated) this.kill(pid, seen);
        this.groups.delete(pid);
      }
    }
  }

  readFile(cwd: string, file: string): Promise<FileRead> {
    return readLocalFile(path.resolve(cwd, file));
  }

  /**
   * Freezes everything seen first (SIGSTOP), so that what it starts meanwhile (a RUN step's
   * next command, forked between our last look and the kill) cannot escape; then what is
   * under it now is found in one read and killed with it.
   */
  private kill(pid: number, seen: Map<number, string | undefined>): void {
    signalGroup(pid, 'SIGSTOP');
    for (const [child, started] of seen) signalProcess(child, 'SIGSTOP', started);
    for (const child of descendantsOf([pid, ...seen.keys()])) if (!seen.has(child)) seen.set(child, startTime(child));
    signalGroup(pid, 'SIGKILL');
    for (const [child, started] of seen) signalProcess(child, 'SIGKILL', started);
  }

  killAll(): void {
    for (const [pid, seen] of this.groups) {
      for (const child of descendants(pid)) signalProcess(child, 'SIGKILL');
      this.kill(pid, seen);
    }
  }
}

/** Calls `onIdle` once the command's output and its process tree's I/O have not moved for `idleMs`. */
function watchIdle(pid: number, idleMs: number, lines: () => number, onIdle: () => void): NodeJS.Timeout {
  let last = { lines: lines(), bytes: ioBytes([pid]), at: performance.now() };
  const timer = setInterval(
    () => {
      const now = { lines: lines(), bytes: ioBytes([pid, ...descendants(pid)]), at: performance.now() };
      if (now.lines !== last.lines || now.bytes !== last.bytes) last = now;
      else if (now.at - last.at >= idleMs) {
        clearInterval(timer);
        onIdle();
      }
    },
    Math.max(100, Math.min(1_000, idleMs / 5)),
  );
  timer.unref();
  return timer;
}

/** The whole process group a detached command leads. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  signalProcess(-pid, signal);
}

function withoutSecrets(env: NodeJS.ProcessEnv, hidden: readonly string[]): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !hidden.includes(name)));
}

/** A local file as a FileRead: its text, or why it cannot be read (the I/O edge: nothing thrown past it). */
export async function readLocalFile(file: string): Promise<FileRead> {
  try {
    return { ok: true, text: await readFile(file, 'utf8') };
  } catch (error) {
    const message = `cannot read ${file}: ${(error as Error).message}`;
    return { ok: false, failure: { reason: 'command-failed', message }, hostFailed: false };
  }
}
