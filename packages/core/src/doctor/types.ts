/**
 * What `orchestrate doctor` reports: one row per thing checked, each pass, warn or fail with
 * what was found and, when it is not a pass, the one thing to do about it.
 */

export type CheckStatus = 'pass' | 'warn' | 'fail';

/** The kinds of check, stable for scripts reading `doctor --output json`. */
export type CheckKind =
  | 'tool'
  | 'runtime'
  | 'binfmt'
  | 'emulation'
  | 'registry-reachable'
  | 'registry-tls'
  | 'registry-credentials'
  | 'registry-credentials-storage'
  | 'host-connect'
  | 'host-tool'
  | 'host-arch'
  | 'disk'
  | 'short-name-from';

export interface CheckResult {
  check: CheckKind;
  /** What was checked: `podman`, `linux/s390x`, `registry local (localhost:5000)`, `host arm-builder`. */
  subject: string;
  status: CheckStatus;
  /** What was found, in one line. */
  message: string;
  /** What to do about it, in one line: set for warn and fail. */
  fix?: string;
  /** The last line of the tool's own error output, when a command failed: kept for whoever digs deeper. */
  detail?: string;
}

export interface DoctorReport {
  /** fail if any check failed, else warn if any warned, else pass. */
  status: CheckStatus;
  checks: CheckResult[];
}

const RANK: Record<CheckStatus, number> = { pass: 0, warn: 1, fail: 2 };

export function overallStatus(checks: readonly CheckResult[]): CheckStatus {
  return checks.reduce<CheckStatus>((worst, c) => (RANK[c.status] > RANK[worst] ? c.status : worst), 'pass');
}
