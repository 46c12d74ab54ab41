/**
 * Runs commands on this machine with execa. Each command leads its own process group
 * (detached), so an interrupt reaches podman and everything podman started (buildah,
 * runc, the container's processes), not just the podman process.
 */
import { constants } from 'node:os';
import { execa } from 'execa';
import type { Invocation, ProcessOutcome, RunOptions, Runner } from './runner.js';

/** How long a terminated process group gets to clean up before SIGKILL. */
const TERMINATE_GRACE_MS = 10_000;

export class LocalRunner implements Runner {
  private readonly groups = new Set<number>();

  constructor(private readonly graceMs = TERMINATE_GRACE_MS) {}

  async run(invocation: Invocation, options: RunOptions): Promise<ProcessOutcome> {
    const [file, ...args] = invocation.argv;
    if (file === undefined) throw new Error('empty argv');
    const lineTap = (stream: 'stdout' | 'stderr') =>
      function* (line: unknown): Generator<unknown> {
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
      // Podman prompts are not for us: nothing reads a terminal here.
      env: { LC_ALL: 'C' },
    });
    const pid = subprocess.pid;
    let terminated = false;
    let killTimer: NodeJS.Timeout | undefined;
    const terminate = (): void => {
      if (pid === undefined) return;
      terminated = true;
      signalGroup(pid, 'SIGTERM');
      killTimer = setTimeout(() => signalGroup(pid, 'SIGKILL'), this.graceMs);
      killTimer.unref();
    };
    if (pid !== undefined) this.groups.add(pid);
    if (options.signal.aborted) terminate();
    else options.signal.addEventListener('abort', terminate, { once: true });
    try {
      const result = await subprocess;
      const outcome: ProcessOutcome = {
        exitCode: result.exitCode ?? (result.signal ? 128 + (constants.signals[result.signal as NodeJS.Signals] ?? 0) : 1),
        stdout: String(result.stdout ?? ''),
        stderr: String(result.stderr ?? ''),
        terminated: terminated || result.isCanceled,
      };
      if (result.failed && result.exitCode === undefined && result.signal === undefined && result.cause instanceof Error) {
        outcome.spawnError = result.cause;
      }
      return outcome;
    } finally {
      options.signal.removeEventListener('abort', terminate);
      if (killTimer) clearTimeout(killTimer);
      if (pid !== undefined) {
        // Children that outlived their leader (podman's conmon, say) go with the group.
        if (terminated) signalGroup(pid, 'SIGKILL');
        this.groups.delete(pid);
      }
    }
  }

  killAll(): void {
    for (const pid of this.groups) signalGroup(pid, 'SIGKILL');
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already.
  }
}
