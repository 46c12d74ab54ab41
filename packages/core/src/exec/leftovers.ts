/**
 * What a run that died (SIGKILL, a crash, a machine that lost power) left behind: its
 * private directory here, and its run directories on build hosts, each holding an authfile
 * with registry credentials. Every run directory carries an owner stamp (a hash of machine,
 * boot and pid namespace; the pid and its start time); a later run removes the directories
 * whose owner is provably gone, and leaves any it cannot tell about.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { lstat, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { startTime } from './process-tree.js';

export const OWNER_FILE = 'owner';
/** Run directories of versions without an owner stamp are removed only when this old. */
const UNSTAMPED_AGE_MS = 24 * 3_600_000;

let identity: string | undefined;
/**
 * Which machine, boot and pid namespace a pid belongs to: only there does "no such pid" mean
 * the run is gone. Cloned VMs share /etc/machine-id, containers share the host's, a reboot
 * reuses pids: each of those makes a pid here say nothing of a pid there. Hashed, since
 * the machine id is not to be handed around (it goes to build hosts in the stamp).
 */
function machineIdentity(): string {
  identity ??= (() => {
    const read = (file: string): string => {
      try {
        return readFileSync(file, 'utf8').trim();
      } catch {
        return '';
      }
    };
    let pidNamespace = '';
    try {
      pidNamespace = String(statSync('/proc/self/ns/pid').ino);
    } catch {
      // no /proc: the machine and boot alone
    }
    const parts = [read('/etc/machine-id') || hostname(), read('/proc/sys/kernel/random/boot_id'), pidNamespace];
    return createHash('sha256')
      .update(`orchestrate-run-owner\0${parts.join('\0')}`)
      .digest('hex')
      .slice(0, 24);
  })();
  return identity;
}

/** `identity pid start`: names this process, on this machine, boot and pid namespace, even after its pid is reused. */
export function ownerStamp(pid = process.pid): string {
  return `${machineIdentity()} ${pid} ${startTime(pid) ?? '-'}`;
}

/**
 * True only when the stamp names a process of this machine, boot and pid namespace that is
 * no longer running: its pid is unknown (ESRCH; EPERM is another user's live process), or now
 * belongs to a process started at another time. Anything else may be alive: left alone.
 */
export function ownerGone(stamp: string): boolean {
  const [owner, pidText, started] = stamp.trim().split(' ');
  if (owner !== machineIdentity() || pidText === undefined || !/^\d+$/.test(pidText)) return false;
  const pid = Number(pidText);
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
  const now = startTime(pid);
  return started !== undefined && started !== '-' && now !== undefined && now !== started;
}

export async function stampRunDir(dir: string): Promise<void> {
  await writeFile(path.join(dir, OWNER_FILE), `${ownerStamp()}\n`, { mode: 0o600 });
}

/**
 * Removes `orchestrate-run-*` directories under `tmp` whose run is gone (and, of those
 * without a stamp, the ones older than a day). Returns what it removed.
 */
export async function sweepLocalRunDirs(tmp: string, now = Date.now()): Promise<string[]> {
  const entries = await readdir(tmp).catch(() => [] as string[]);
  const removed: string[] = [];
  const uid = process.getuid?.();
  for (const entry of entries) {
    if (!entry.startsWith('orchestrate-run-')) continue;
    const dir = path.join(tmp, entry);
    // lstat: a symlink named like a run directory is not one of ours to follow.
    const info = await lstat(dir).catch(() => undefined);
    if (!info?.isDirectory() || (uid !== undefined && info.uid !== uid)) continue;
    const stamp = await readFile(path.join(dir, OWNER_FILE), 'utf8').catch(() => undefined);
    const gone = stamp === undefined ? now - info.mtimeMs > UNSTAMPED_AGE_MS : ownerGone(stamp);
    if (!gone) continue;
    // A directory that will not go (busy, not ours after all) is left: a sweep never stops a build.
    if (
      await rm(dir, { recursive: true, force: true }).then(
        () => true,
        () => false,
      )
    )
      removed.push(dir);
  }
  return removed;
}

/**
 * From what a host listed (`DIR<TAB>STAMP` per line, see ssh.ts setupCommand), the run
 * directories there whose run, on this machine, is gone. Runs of other machines are left:
 * their liveness cannot be told from here.
 */
export function deadRemoteRunDirs(listing: string, own: string): string[] {
  const dead: string[] = [];
  for (const line of listing.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab < 0) continue;
    const dir = line.slice(0, tab).replace(/\/+$/, '');
    if (dir !== own.replace(/\/+$/, '') && ownerGone(line.slice(tab + 1))) dead.push(dir);
  }
  return dead;
}
