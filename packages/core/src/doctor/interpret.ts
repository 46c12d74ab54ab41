/**
 * What the doctor's probes found, in words: each function reads one command's outcome (exit
 * code, output) and says pass, warn or fail with the fix. Pure, so tests feed it real
 * captured outputs. Failures of podman, skopeo and ssh go through the build's own
 * translation table (exec/failure.ts), so doctor and build say the same thing.
 */
import { diagnoseExit, diagnoseSpawn, lastErrorLine, type Attempt } from '../exec/failure.js';
import type { ProcessOutcome } from '../exec/runner.js';
import type { CheckKind, CheckResult } from './types.js';

export type Outcome = Pick<ProcessOutcome, 'exitCode' | 'stdout' | 'stderr' | 'spawnError'>;

interface Requirement {
  min: readonly [number, number, number];
  why: string;
}

/**
 * Versions below which a plan's commands do not exist. podman 4.2 added `build
 * --build-context` (dependencies are pinned with it); skopeo 1.6 added `copy
 * --preserve-digests` (publishing copies lists by digest; skopeo#1761).
 */
const MINIMUM: Readonly<Record<string, Requirement>> = {
  podman: { min: [4, 2, 0], why: '`podman build --build-context`, which pins dependencies, came in podman 4.2' },
  skopeo: { min: [1, 6, 0], why: '`skopeo copy --preserve-digests`, which publishing uses, came in skopeo 1.6' },
};

/** `podman version 4.3.1`, `buildah version 1.28.2 (image-spec ...)`, `tar (GNU tar) 1.34`. */
export function parseVersion(output: string): [number, number, number] | undefined {
  const match = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(output);
  return match ? [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)] : undefined;
}

function older(version: readonly number[], than: readonly number[]): boolean {
  for (let i = 0; i < than.length; i++) {
    const a = version[i] ?? 0;
    const b = than[i] ?? 0;
    if (a !== b) return a < b;
  }
  return false;
}

/** Why a command failed, in the table's words; its raw last line as detail. */
function failureOf(
  command: string,
  outcome: Outcome,
  attempt: Attempt = { op: 'other' },
): { message: string; fix?: string; detail?: string } {
  if (outcome.spawnError) {
    const failure = diagnoseSpawn(command, outcome.spawnError);
    return { message: failure.message, ...(failure.hint !== undefined && { fix: failure.hint }) };
  }
  const { failure } = diagnoseExit(outcome.exitCode, outcome.stderr || outcome.stdout, attempt);
  const detail = lastErrorLine(outcome.stderr || outcome.stdout);
  return {
    message: failure.message,
    ...(failure.hint !== undefined && { fix: failure.hint }),
    ...(detail !== '' && { detail }),
  };
}

/**
 * `TOOL --version` here or on a build host (`where`). Missing or too old fails; the fix says
 * how to install it where it is missing.
 */
export function interpretTool(tool: string, outcome: Outcome, where?: { host: string; check: CheckKind }): CheckResult {
  const check = where?.check ?? 'tool';
  const subject = where === undefined ? tool : `${tool} on ${where.host}`;
  const install =
    where === undefined
      ? `install it: \`apt-get install ${tool}\` (Debian; or \`npm run setup\`)`
      : `install ${tool} on ${where.host}, on the PATH of non-interactive ssh sessions (or set the host's podman path in the spec)`;
  // A build host's shell says "exec: skopeo: not found" (exit 127); here the spawn fails.
  const missing = outcome.spawnError !== undefined || outcome.exitCode === 127;
  if (missing) return { check, subject, status: 'fail', message: `${subject}: not found`, fix: install };
  if (outcome.exitCode !== 0) {
    const failed = failureOf(tool, outcome);
    return { check, subject, status: 'fail', ...failed, fix: failed.fix ?? install };
  }
  const line = (outcome.stdout.trim().split('\n')[0] ?? '').trim();
  const version = parseVersion(line);
  const requirement = MINIMUM[tool];
  if (requirement && version && older(version, requirement.min)) {
    return {
      check,
      subject,
      status: 'fail',
      message: `${line}: too old (${requirement.why})`,
      fix: `upgrade ${tool} to ${requirement.min.join('.')} or later (Debian 12 has podman 4.3 and skopeo 1.9)`,
    };
  }
  return { check, subject, status: 'pass', message: line || `${tool} runs` };
}

/** An architecture as QEMU's binfmt handler names it, and what `uname -m` answers under it. */
const ARCH: Readonly<Record<string, { qemu: string; uname: RegExp }>> = {
  amd64: { qemu: 'x86_64', uname: /^x86_64$/ },
  arm64: { qemu: 'aarch64', uname: /^(?:aarch64|arm64)$/ },
  arm: { qemu: 'arm', uname: /^armv\d+l$/ },
  '386': { qemu: 'i386', uname: /^i[3-6]86$/ },
  ppc64le: { qemu: 'ppc64le', uname: /^ppc64le$/ },
  s390x: { qemu: 's390x', uname: /^s390x$/ },
  riscv64: { qemu: 'riscv64', uname: /^riscv64$/ },
  mips64le: { qemu: 'mips64el', uname: /^mips64$/ },
};

/** `linux/arm/v7` -> `arm`. */
export function archOf(platform: string): string {
  return platform.split('/')[1] ?? platform;
}

/** Where the kernel keeps the binfmt handler QEMU registers for a platform; undefined for an architecture QEMU does not emulate. */
export function binfmtEntry(platform: string): string | undefined {
  const qemu = ARCH[archOf(platform)]?.qemu;
  return qemu === undefined ? undefined : `/proc/sys/fs/binfmt_misc/qemu-${qemu}`;
}

/** The platform's architecture, from `uname -m` (x86_64 -> amd64); undefined when unknown. */
export function archOfUname(uname: string): string | undefined {
  return Object.entries(ARCH).find(([, a]) => a.uname.test(uname.trim()))?.[0];
}

/**
 * `cat /proc/sys/fs/binfmt_misc/qemu-ARCH`: registered and enabled, and with the F flag
 * containers need. `mounted`: whether `cat /proc/sys/fs/binfmt_misc/status` worked; inside a
 * container binfmt_misc is often not mounted while the kernel's handlers (registered by the
 * host) still work: that cannot be told from here, so it warns, never fails.
 */
export function interpretBinfmt(platform: string, outcome: Outcome, mounted = true): CheckResult {
  const entry = binfmtEntry(platform) ?? `/proc/sys/fs/binfmt_misc/qemu-${archOf(platform)}`;
  const name = entry.slice(entry.lastIndexOf('/') + 1);
  const base = { check: 'binfmt' as const, subject: platform };
  if ((outcome.exitCode !== 0 || outcome.spawnError) && !mounted) {
    return {
      ...base,
      status: 'warn',
      message: `cannot see the QEMU handlers: /proc/sys/fs/binfmt_misc is not mounted here`,
      fix: 'mount it (as root): mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc; in a container, the host registers the handlers',
    };
  }
  if (outcome.exitCode !== 0 || outcome.spawnError) {
    return {
      ...base,
      status: 'fail',
      message: `no QEMU binfmt handler for ${platform} (${entry} does not exist)`,
      fix: `install qemu-user-static and binfmt-support (\`npm run setup\`, or \`apt-get install qemu-user-static\`), or build ${platform} on a native host`,
    };
  }
  const lines = outcome.stdout.split('\n').map((l) => l.trim());
  if (lines[0] !== 'enabled') {
    return {
      ...base,
      status: 'fail',
      message: `the QEMU binfmt handler for ${platform} is registered but disabled`,
      fix: `enable it (as root): echo 1 > ${entry}, or \`update-binfmts --enable ${name}\``,
    };
  }
  const interpreter = lines.find((l) => l.startsWith('interpreter '))?.slice('interpreter '.length) ?? '?';
  const flags =
    lines
      .find((l) => l.startsWith('flags:'))
      ?.slice('flags:'.length)
      .trim() ?? '';
  if (!flags.includes('F')) {
    return {
      ...base,
      status: 'fail',
      message: `the QEMU handler for ${platform} (${interpreter}) lacks the F flag: containers cannot reach the interpreter`,
      fix: 'install the static QEMU handlers, which register with F: `apt-get install qemu-user-static` (or `npm run setup`)',
    };
  }
  return { ...base, status: 'pass', message: `QEMU handler enabled (${interpreter}, flags ${flags})` };
}

/**
 * `podman run ... uname -m` in an image of `platform`: the kernel ran it natively or under
 * QEMU, and it says the right architecture. `check` 'runtime' for the native platform.
 */
export function interpretArchRun(platform: string, outcome: Outcome, check: 'runtime' | 'emulation'): CheckResult {
  const base = { check, subject: platform };
  const what = check === 'runtime' ? 'podman cannot run a container here' : `a ${platform} container does not run`;
  if (outcome.exitCode !== 0 || outcome.spawnError) {
    const failed = failureOf('podman', outcome);
    return {
      ...base,
      status: 'fail',
      ...failed,
      message: `${what}: ${failed.message}`,
      fix: failed.fix ?? 'run `podman run --rm IMAGE true` by hand to see why; `podman info` shows the runtime',
    };
  }
  const answer = outcome.stdout.trim().split('\n').at(-1)?.trim() ?? '';
  const expected = ARCH[archOf(platform)]?.uname;
  if (expected && !expected.test(answer)) {
    return {
      ...base,
      status: 'fail',
      message: `a ${platform} container answered \`uname -m\` with "${answer}"`,
      fix: `podman ran another architecture's image: check \`podman image inspect\` of the probe image and the QEMU handler ${binfmtEntry(platform) ?? ''}`.trim(),
    };
  }
  return {
    ...base,
    status: 'pass',
    message: check === 'runtime' ? `runs a container (uname -m: ${answer})` : `runs under QEMU (uname -m: ${answer})`,
  };
}

/** No image of that architecture to run here, and none can be made without the network. */
export function cannotCheckEmulation(platform: string, check: 'runtime' | 'emulation', why: string): CheckResult {
  return {
    check,
    subject: platform,
    status: 'warn',
    message: `cannot check: ${why}`,
    fix: `put a static busybox of ${archOf(platform)} where doctor looks (the busybox-static .deb in /var/cache/orchestrate/debs: \`npm run setup\`), or load any ${platform} image with uname into podman`,
  };
}

const GIB = 1024 * 1024;

/** `df -Pk -- DIR`: free space where podman keeps images, here or on a host. */
export function interpretDisk(subject: string, dir: string, outcome: Outcome): CheckResult {
  const base = { check: 'disk' as const, subject };
  const fields = outcome.stdout.trim().split('\n').at(-1)?.trim().split(/\s+/) ?? [];
  const availableKb = Number(fields[3]);
  if (outcome.exitCode !== 0 || outcome.spawnError || !Number.isFinite(availableKb) || fields.length < 6) {
    return {
      ...base,
      status: 'warn',
      message: `cannot read the free space of ${dir}: ${failureOf('df', outcome).message}`,
      fix: `check it by hand: df -h ${dir}`,
    };
  }
  const free = `${(availableKb / GIB).toFixed(1)} GiB free in ${dir}`;
  const prune = `free space: \`podman system prune\` removes unused images and build cache (on that host, if it is one)`;
  if (availableKb < 2 * GIB) return { ...base, status: 'fail', message: `${free}: builds will run out`, fix: prune };
  if (availableKb < 10 * GIB)
    return { ...base, status: 'warn', message: `${free}: large builds may run out`, fix: prune };
  return { ...base, status: 'pass', message: free };
}

export interface RegistryProbe {
  /** `registry local (localhost:5000)`. */
  subject: string;
  server: string;
  tlsVerify: boolean;
  /** What was tried: `podman login as orchestrate (password from $REGISTRY_PASSWORD)`; undefined: an anonymous look only. */
  login?: string;
  /** With credentials already stored (an authfile): how to store good ones, should they be refused. */
  relogin?: string;
  /** Why there were no credentials to try, when login is undefined: a fail (the spec names them, and they are not there) or nothing (none needed). */
  missingCredentials?: { message: string; fix: string };
}

/**
 * A registry, from one command: `podman login` with the spec's credentials, or (without
 * any) an anonymous `skopeo inspect`, whose "manifest unknown" or 401 still proves the
 * registry answers over trusted TLS. Reachable, then TLS, then credentials: a row for each
 * stage reached, the first failure last.
 */
export function interpretRegistry(probe: RegistryProbe, outcome: Outcome): CheckResult[] {
  const row = (check: CheckKind, status: CheckResult['status'], message: string, fix?: string, detail?: string) => ({
    check,
    subject: probe.subject,
    status,
    message,
    ...(fix !== undefined && { fix }),
    ...(detail !== undefined && { detail }),
  });
  const failed = outcome.exitCode !== 0 || outcome.spawnError !== undefined;
  // A login here, or an anonymous read: the table words a 401/403 by which it was.
  const attempt: Attempt = probe.login === undefined ? { op: 'inspect' } : { op: 'login', server: probe.server };
  // Stored credentials refused: podman says so on stdout, then fails asking for new ones ("reading username: EOF").
  const storedRefused = failed && /Existing credentials are invalid/.test(outcome.stdout);
  const reason = failed
    ? outcome.spawnError
      ? 'command-not-found'
      : storedRefused
        ? 'registry-auth'
        : diagnoseExit(outcome.exitCode, outcome.stderr, attempt).failure.reason
    : undefined;
  const why = failed ? failureOf(probe.login === undefined ? 'skopeo' : 'podman', outcome, attempt) : undefined;
  if (reason === 'command-not-found' || reason === 'registry-unavailable') {
    return [
      row('registry-reachable', 'fail', `${probe.server} does not answer: ${why!.message}`, why!.fix, why!.detail),
    ];
  }
  const rows: CheckResult[] = [row('registry-reachable', 'pass', `${probe.server} answers`)];
  if (reason === 'registry-tls') {
    rows.push(row('registry-tls', 'fail', `${probe.server}'s certificate is not trusted: ${why!.message}`, why!.fix));
    return rows;
  }
  rows.push(
    probe.tlsVerify
      ? row('registry-tls', 'pass', 'certificate trusted')
      : row(
          'registry-tls',
          'warn',
          'TLS verification is off for this registry (tlsVerify: false): anyone in between can read and change what is pushed',
          `trust its CA instead: /etc/containers/certs.d/${probe.server}/ca.crt, then drop tlsVerify: false`,
        ),
  );
  if (probe.login === undefined) {
    if (probe.missingCredentials)
      rows.push(row('registry-credentials', 'fail', probe.missingCredentials.message, probe.missingCredentials.fix));
    else if (reason === 'registry-auth')
      rows.push(
        row(
          'registry-credentials',
          'fail',
          `no credentials for ${probe.server}, and it refuses anonymous access: pushes will be refused`,
          `log in once where it lasts: podman login --authfile ~/.config/containers/auth.json ${probe.server} (or give the registry auth: in the spec)`,
        ),
      );
    else rows.push(row('registry-credentials', 'pass', 'answers without credentials (none are configured)'));
    return rows;
  }
  if (storedRefused) {
    rows.push(
      row(
        'registry-credentials',
        'fail',
        `${probe.login} were refused by ${probe.server}`,
        probe.relogin ?? `log in again: podman login ${probe.server}`,
        why!.detail,
      ),
    );
    return rows;
  }
  if (failed) {
    rows.push(
      row('registry-credentials', 'fail', `${probe.login} was refused: ${why!.message}`, why!.fix, why!.detail),
    );
    return rows;
  }
  rows.push(row('registry-credentials', 'pass', `${probe.login}: accepted`));
  return rows;
}
