import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FileRead, Invocation, ProcessOutcome, RunOptions, Runner } from '../../src/exec/runner.js';
import { readLocalFile } from '../../src/exec/local-runner.js';

/** The value of `flag` in an argv, read as podman's parser reads it: `--flag=value` or `--flag value`, before `--`. */
export function optionValue(argv: readonly string[], flag: string): string | undefined {
  const end = argv.indexOf('--');
  const options = end < 0 ? argv : argv.slice(0, end);
  const joined = options.find((word) => word.startsWith(`${flag}=`));
  if (joined !== undefined) return joined.slice(flag.length + 1);
  const at = options.indexOf(flag);
  return at < 0 ? undefined : options[at + 1];
}

export type Script = (
  invocation: Invocation,
  call: number,
) => Partial<ProcessOutcome> & { delayMs?: number; lines?: string[]; writeDigest?: string };

/**
 * A runner that runs nothing: answers each command from a script, after an optional delay,
 * and records every invocation and how many ran at once. For the scheduler and task logic.
 */
export class FakeRunner implements Runner {
  readonly invocations: Invocation[] = [];
  running = 0;
  peak = 0;
  killed = 0;

  constructor(private readonly script: Script = () => ({})) {}

  async run(invocation: Invocation, options: RunOptions): Promise<ProcessOutcome> {
    this.invocations.push(invocation);
    this.running++;
    this.peak = Math.max(this.peak, this.running);
    try {
      const answer = this.script(invocation, this.invocations.length);
      for (const line of answer.lines ?? []) options.onLine(line, 'stdout');
      const terminated = await new Promise<boolean>((resolve) => {
        if (options.signal.aborted) {
          resolve(true);
          return;
        }
        const onAbort = (): void => {
          clearTimeout(timer);
          resolve(true);
        };
        const timer = setTimeout(() => {
          options.signal.removeEventListener('abort', onAbort);
          resolve(false);
        }, answer.delayMs ?? 0);
        options.signal.addEventListener('abort', onAbort, { once: true });
      });
      if (answer.writeDigest !== undefined) {
        const file = optionValue(invocation.argv, '--digestfile');
        if (file !== undefined) writeFileSync(file, answer.writeDigest);
      }
      // A stall is the runner's own doing: it terminated the command.
      if (answer.stalled)
        return {
          exitCode: 143,
          stdout: answer.stdout ?? '',
          stderr: answer.stderr ?? '',
          terminated: true,
          stalled: true,
        };
      return {
        exitCode: terminated ? 143 : (answer.exitCode ?? 0),
        stdout: answer.stdout ?? '',
        stderr: answer.stderr ?? '',
        terminated,
        ...(answer.spawnError && { spawnError: answer.spawnError }),
      };
    } finally {
      this.running--;
    }
  }

  readFile(cwd: string, file: string): Promise<FileRead> {
    return readLocalFile(path.resolve(cwd, file));
  }

  killAll(): void {
    this.killed++;
  }
}
