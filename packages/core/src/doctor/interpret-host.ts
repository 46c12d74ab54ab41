/**
 * What the doctor's build-host and credential probes found, in words. Pure.
 */
import type { TaskFailure } from '../exec/failure.js';
import { archOf, archOfUname, type Outcome } from './interpret.js';
import type { CheckResult } from './types.js';

/** Opening the host's ssh connection (exec/ssh.ts's diagnosis of ssh's own errors, when it failed). */
export function interpretHostConnect(host: string, address: string, failure: TaskFailure | undefined): CheckResult {
  const base = { check: 'host-connect' as const, subject: `host ${host}` };
  if (failure === undefined) return { ...base, status: 'pass', message: `${address}: connected, host key known` };
  return {
    ...base,
    status: 'fail',
    message: failure.message,
    fix: failure.hint ?? `check by hand: ssh ${address} true`,
  };
}

/**
 * `uname -m` on a build host against the platforms the spec says it builds natively: a host
 * that claims another architecture would build it under emulation, or not at all.
 */
export function interpretHostArch(host: string, claims: readonly string[], outcome: Outcome): CheckResult {
  const base = { check: 'host-arch' as const, subject: `host ${host}` };
  const uname = outcome.stdout.trim();
  const native = outcome.exitCode === 0 ? archOfUname(uname) : undefined;
  if (native === undefined) {
    return {
      ...base,
      status: 'warn',
      message: `cannot tell the host's architecture (uname -m: ${JSON.stringify(uname || outcome.stderr.trim())})`,
      fix: 'check by hand that the platforms listed for this host are its own architecture',
    };
  }
  const foreign = claims.filter((p) => archOf(p) !== native);
  if (foreign.length > 0) {
    return {
      ...base,
      status: 'fail',
      message: `the spec says it builds ${foreign.join(', ')} natively, but it is ${uname} (linux/${native})`,
      fix: `list only linux/${native} under the host's platforms, and build ${foreign.join(', ')} on a host of that architecture (or here under QEMU)`,
    };
  }
  return { ...base, status: 'pass', message: `${uname}: native for ${claims.join(', ')}` };
}

/** A file holding credentials for a registry, and whether it goes at reboot (under $XDG_RUNTIME_DIR, a tmpfs). */
export interface CredentialsFile {
  file: string;
  volatile: boolean;
}

/**
 * Where the credentials a registry is used with live: a warning when they are only under
 * $XDG_RUNTIME_DIR, where `podman login` puts them by default and a reboot removes them.
 */
export function interpretCredentialsStorage(
  subject: string,
  server: string,
  files: readonly CredentialsFile[],
): CheckResult | undefined {
  if (files.length === 0 || files.some((f) => !f.volatile)) return undefined;
  return {
    check: 'registry-credentials-storage',
    subject,
    status: 'warn',
    message: `the only credentials for ${server} are in ${files.map((f) => f.file).join(', ')}, which is lost at reboot`,
    fix: `log in where it lasts: podman login --authfile ~/.config/containers/auth.json ${server} (or give the registry auth: in the spec)`,
  };
}
