/**
 * Why a task did not succeed, tagged by reason, and the failures of podman, skopeo and
 * ssh translated for people: what went wrong in one line and the fix in another (the table
 * is failure-rules.ts). Pure: it reads a process's exit code and error output, and what
 * was attempted. `build` and `doctor` both come here.
 */
import { RULES } from './failure-rules.js';
import { diagnoseSsh, type SshTarget } from './ssh.js';

export type FailureReason =
  /** The command failed for a reason not recognised below (a Containerfile's RUN, say). */
  | 'command-failed'
  /** podman/skopeo is not installed. */
  | 'command-not-found'
  /** 5xx, 429, reset or refused connections, still failing after the retries. */
  | 'registry-unavailable'
  /** 401/403: wrong credentials or no right to push. */
  | 'registry-auth'
  /** The registry's name does not resolve, or the DNS server did not answer. */
  | 'registry-dns'
  /** TLS: the registry's certificate is not trusted. */
  | 'registry-tls'
  /** The image or tag asked for does not exist. */
  | 'image-not-found'
  /**
   * podman 4.3 lost an image or layer to a concurrent pull or removal in its own storage
   * (two platforms pulling one name). Not the Containerfile's fault: retried, even for builds.
   */
  | 'storage-race'
  /** ssh could not reach a build host: refused, timed out, no route, unknown name. */
  | 'host-unreachable'
  /** The connection to a build host dropped while a command ran there (host died, network lost). */
  | 'host-lost'
  /** Not run: an earlier task found this build host unreachable, lost or out of disk. */
  | 'host-down'
  /** The build host's key is not in known_hosts, or differs from it: never accepted silently. */
  | 'host-key'
  /** The build host refused our key (or the user). */
  | 'host-auth'
  /** A foreign-architecture binary ran without a QEMU binfmt handler. */
  | 'emulation-missing'
  /** FROM busybox without a registry, and no search registries configured. */
  | 'short-name'
  | 'no-space'
  /** A smoke test's output or a verified list did not match what was expected. */
  | 'expectation-failed'
  /** Skipped: a task this one depends on did not succeed. */
  | 'dependency-failed'
  /** Not started: another task failed and --keep-going was not given. */
  | 'run-stopped'
  /** Stopped or not started because of Ctrl-C (SIGINT/SIGTERM). */
  | 'interrupted'
  /** Stopped because it ran past its image's `timeout:`, or the run past `--timeout` (or not started for that). */
  | 'timeout';

export interface TaskFailure {
  reason: FailureReason;
  /** One line, for people; never holds a secret (the executor redacts). */
  message: string;
  hint?: string;
  exitCode?: number;
  /** The tool's own error output, its last lines as it wrote them (redacted): for the report and --verbose. */
  output?: string[];
}

/**
 * What the failed command was trying to do: one registry answer means different things on
 * a pull and on a push (403: check the name, or no right to push), and `doctor` words its
 * probes' failures with the same table as `build`.
 */
export type Attempt =
  /** Reading from a registry: pull, inspect, a build's FROM, a copy's source. */
  | { op: 'pull' | 'inspect'; reference?: string }
  | { op: 'push'; reference?: string }
  | { op: 'login'; server?: string }
  /**
   * A build: a pull of its bases as far as registries go, but its output is also its RUN
   * steps': registry words count only in podman's own lines (`Error: ...`), not in what a
   * step printed (`npm ERR! 401 Unauthorized`, `x.c:502: error`).
   */
  | { op: 'build' }
  /** Reaching a build host: ssh's own failures, then the command's. */
  | { op: 'ssh'; target: Pick<SshTarget, 'name' | 'host' | 'port' | 'knownHosts' | 'user' | 'identityFile'> }
  /** Anything else (a container run, local storage); a build counts as a pull of its bases. */
  | { op: 'other' };

/** How much of the tool's output a failure keeps: its last lines (podman puts the cause last), each cut at a length. */
const OUTPUT_LINES = 30;
const OUTPUT_CHARS = 1000;

export interface Diagnosis {
  failure: TaskFailure;
  /** Worth retrying: the registry may answer next time, or podman's storage race may not recur. Builds retry only the latter. */
  transient: boolean;
  /** 429: the registry asked to slow down. */
  rateLimited: boolean;
}

/** The last meaningful line of a tool's error output: podman puts the cause last. */
export function lastErrorLine(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const at = lines.findLastIndex((l) => /^(Error|error|FATA|fatal)\b|level=(fatal|error) msg=/.test(l));
  let line = at >= 0 ? lines[at]! : (lines.at(-1) ?? '');
  // "Error: 2 errors occurred:" says nothing; the first "* cause" under it does.
  const cause = at >= 0 && /errors? occurred:?$/.test(line) ? lines[at + 1] : undefined;
  if (cause?.startsWith('*')) line = cause.replace(/^\*\s*/, '');
  // skopeo logs through logrus: time="..." level=fatal msg="the message"
  const logged = /level=(?:fatal|error) msg="((?:[^"\\]|\\.)*)"/.exec(line);
  if (logged) line = logged[1]!.replace(/\\(.)/g, '$1');
  return line.replace(/^(Error: |error: |FATA\[\d+\] )/, '').slice(0, 500);
}

/** What a failed process's exit code and error output mean, given what it attempted. */
export function diagnoseExit(exitCode: number, errorOutput: string, attempt: Attempt = { op: 'other' }): Diagnosis {
  const output = rawOutput(errorOutput);
  const kept = output.length === 0 ? {} : { output };
  if (attempt.op === 'ssh') {
    const ssh = diagnoseSsh(attempt.target, exitCode, errorOutput);
    if (ssh) return { failure: { ...ssh, ...kept }, transient: false, rateLimited: false };
  }
  const line = lastErrorLine(errorOutput) || `exited with code ${exitCode}`;
  const ownLines = attempt.op === 'build' ? podmanLines(errorOutput) : errorOutput;
  for (const rule of RULES) {
    const registryRule = rule.reason.startsWith('registry-') || rule.reason === 'image-not-found';
    const match = (registryRule ? ownLines : errorOutput).match(rule.pattern);
    if (match) {
      const seen = { match, text: errorOutput, attempt };
      return {
        failure: {
          reason: rule.reason,
          message: rule.message?.(seen) ?? line,
          hint: rule.hint(seen),
          exitCode,
          ...kept,
        },
        transient: rule.transient === true,
        rateLimited: rule.rateLimited === true,
      };
    }
  }
  return {
    failure: { reason: 'command-failed', message: line, exitCode, ...kept },
    transient: false,
    rateLimited: false,
  };
}

/** The lines podman itself printed about the build (its errors and warnings), not its steps' output. */
function podmanLines(text: string): string {
  return text
    .split('\n')
    .filter((line) => /^(?:Error: |error: |WARN\[|time="|Trying to pull |level=)/.test(line))
    .join('\n');
}

/** The tail of the tool's output, as it said it: what a reader of the report or --verbose checks the words against. */
export function rawOutput(text: string): string[] {
  const lines = text.trim() === '' ? [] : text.trim().split('\n').slice(-OUTPUT_LINES);
  return lines.map((line) => (line.length > OUTPUT_CHARS ? `${line.slice(0, OUTPUT_CHARS)}…` : line));
}

/** A command that could not be started at all. */
export function diagnoseSpawn(command: string, error: Error): TaskFailure {
  const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
  return missing
    ? {
        reason: 'command-not-found',
        message: `${command} is not installed (or not on PATH)`,
        hint: 'run `npm run setup`, or install podman, buildah and skopeo',
      }
    : { reason: 'command-failed', message: `${command} could not be started: ${error.message}` };
}
