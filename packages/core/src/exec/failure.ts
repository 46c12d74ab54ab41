/**
 * Why a task did not succeed, tagged by reason, and the failures of podman, skopeo and
 * ssh translated for people: what went wrong in one line and the fix in another.
 * Pure: it reads a process's exit code and error output.
 */

export type FailureReason =
  /** The command failed for a reason not recognised below (a Containerfile's RUN, say). */
  | 'command-failed'
  /** podman/skopeo is not installed. */
  | 'command-not-found'
  /** 5xx, 429, reset or refused connections, still failing after the retries. */
  | 'registry-unavailable'
  /** 401/403: wrong credentials or no right to push. */
  | 'registry-auth'
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
  | 'interrupted';

export interface TaskFailure {
  reason: FailureReason;
  /** One line, for people; never holds a secret (the executor redacts). */
  message: string;
  hint?: string;
  exitCode?: number;
}

export interface Diagnosis {
  failure: TaskFailure;
  /** Worth retrying: the registry may answer next time, or podman's storage race may not recur. Builds retry only the latter. */
  transient: boolean;
  /** 429: the registry asked to slow down. */
  rateLimited: boolean;
}

interface Rule {
  reason: FailureReason;
  pattern: RegExp;
  transient?: boolean;
  rateLimited?: boolean;
  hint: (match: RegExpMatchArray, text: string) => string;
}

// Order matters: the first rule that matches wins (a 401 that mentions EOF is still a 401).
const RULES: readonly Rule[] = [
  {
    reason: 'emulation-missing',
    pattern: /exec format error/i,
    hint: () =>
      'this platform needs QEMU: run `npm run setup` (or `update-binfmts --enable qemu-<arch>`), or build it on a native host',
  },
  {
    // A build host's shell: `exec skopeo` with no skopeo there (exit 127).
    reason: 'command-not-found',
    pattern: /\bexec: \S+: not found/,
    hint: () =>
      "install podman, skopeo and tar on that host, on the PATH of non-interactive ssh sessions (or set the host's podman path)",
  },
  {
    reason: 'no-space',
    pattern: /no space left on device/i,
    hint: () =>
      'free disk space: `podman system prune` removes unused images and build cache; `df -h /var/lib/containers` shows what is left',
  },
  {
    reason: 'storage-race',
    pattern:
      /locating pulled image .* image not known|getting top layer info: layer not known|getting exit code of container \w+ from DB: no such exit code|locating item named "manifest-sha256:[0-9a-f]+" for image/i,
    transient: true,
    hint: () =>
      'podman 4.3 lost track of an image or container under concurrent use (two platforms pulling one name, or `run --rm` racing its own cleanup); it was retried',
  },
  {
    reason: 'registry-auth',
    pattern:
      /\b(?:unauthorized|authentication required|invalid username\/password|incorrect username or password|requested access to the resource is denied|401 Unauthorized|403 Forbidden|StatusCode: 40[13])\b|\bdenied: /i,
    hint: () =>
      "check the username and the password variable the registry's `auth:` names, and that this account may push to the repository",
  },
  {
    reason: 'registry-tls',
    pattern: /x509: |certificate signed by unknown authority|tls: failed to verify/i,
    hint: (_match, text) => {
      const server = /(?:https:\/\/)?([a-z0-9.-]+:\d+)\/v2\//i.exec(text)?.[1] ?? 'HOST:PORT';
      return `trust the registry's CA: put it in /etc/containers/certs.d/${server}/ca.crt (or set \`tlsVerify: false\` on the registry, for a test registry only)`;
    },
  },
  {
    reason: 'short-name',
    pattern:
      /short-name (?:resolution enforced|"[^"]*" did not resolve)|did not resolve to an alias and no (?:unqualified-search|containers-registries)/i,
    hint: () => 'name the base image in full, with its registry: `docker.io/library/busybox:1.36`, not `busybox:1.36`',
  },
  {
    reason: 'registry-unavailable',
    pattern: /\b429\b|too ?many ?requests/i,
    transient: true,
    rateLimited: true,
    hint: () => 'the registry is rate-limiting: wait, or log in (anonymous pulls get lower limits)',
  },
  {
    reason: 'registry-unavailable',
    pattern:
      /\b50[0-4]\b|internal server error|bad gateway|service unavailable|gateway time-?out|connection reset|connection refused|broken pipe|i\/o timeout|TLS handshake timeout|unexpected EOF|: EOF\b|server closed idle connection|no route to host/i,
    transient: true,
    hint: () =>
      'the registry did not answer properly: check that it is up and reachable from this host (registry operations are retried with backoff first)',
  },
  {
    reason: 'registry-unavailable',
    pattern: /lookup (\S+?)(?: on \S+)?: no such host|dial tcp: lookup (\S+)/i,
    hint: (match) =>
      `cannot resolve ${match[1] ?? match[2] ?? 'the registry'}: check the name, or that this host has DNS and network access to it (a base image from a registry this host cannot reach must be mirrored, or passed in a build arg)`,
  },
  {
    // c/image says this when the registry refused the list as it is and preserving digests
    // forbids converting it; seen transiently with concurrent writes to one repository.
    reason: 'registry-unavailable',
    pattern: /must be converted to type .* but we cannot modify it/i,
    transient: true,
    hint: () =>
      'the registry refused the OCI image index as it is; if this repeats, the registry may not support OCI indexes (distribution 2.7 and later do)',
  },
  {
    reason: 'image-not-found',
    pattern:
      /manifest unknown|name unknown|reading manifest [^:]*: .*not found|repository .* not found|image not known|no such image/i,
    hint: () =>
      'check the image name and tag; a base image built by this spec must be listed as a dependency (dependsOn) so it is built first',
  },
];

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

/** What a failed process's exit code and output mean. */
export function diagnoseExit(exitCode: number, errorOutput: string): Diagnosis {
  const line = lastErrorLine(errorOutput) || `exited with code ${exitCode}`;
  for (const rule of RULES) {
    const match = errorOutput.match(rule.pattern);
    if (match) {
      return {
        failure: { reason: rule.reason, message: line, hint: rule.hint(match, errorOutput), exitCode },
        transient: rule.transient === true,
        rateLimited: rule.rateLimited === true,
      };
    }
  }
  return { failure: { reason: 'command-failed', message: line, exitCode }, transient: false, rateLimited: false };
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
