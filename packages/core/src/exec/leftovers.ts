/**
 * What a run that died (SIGKILL, a crash, a machine that lost power) left behind: its
 * private directory here, and its run directories on build hosts, each holding an authfile
 * with registry credentials. Every run directory carries an owner stamp (machine, pid and the
 * pid's start time); a later run removes the directories whose owner is gone.
 */
import { readFileSync } from 'node:fs';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { startTime } from './process-tree.js';

export const OWNER_FILE = 'owner';
/** Run directories of versions without an owner stamp are removed only when this old. */
const UNSTAMPED_AGE_MS = 24 * 3_600_000;

let machine: string | undefined;
/** This machine, as run directories on build hosts name it: its machine-id, else its host name. */
function machineId(): string {
  machine ??= (() => {
    try {
      return readFileSync('/etc/machine-id', 'utf8').trim() || hostname();
    } catch {
      return hostname();
    }
  })();
  return machine;
}

/** `machine pid start`: names this process even after its pid is reused. */
export function ownerStamp(pid = process.pid): string {
  return `${machineId()} ${pid} ${startTime(pid) ?? '-'}`;
}

/** True only when the stamp names a process of this machine that is no longer running. */
export function ownerGone(stamp: string): boolean {
  const [owner, pidText, started] = stamp.trim().split(' ');
  if (owner !== machineId() || pidText === undefined || !/^\d+$/.test(pidText)) return false;
  const pid = Number(pidText);
  if (pid === process.pid) return false;
  const now = startTime(pid);
  return now === undefined || (started !== '-' && started !== now);
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
    const info = await stat(dir).catch(() => undefined);
    if (!info?.isDirectory() || (uid !== undefined && info.uid !== uid)) continue;
    const stamp = await readFile(path.join(dir, OWNER_FILE), 'utf8').catch(() => undefined);
    const gone = stamp === undefined ? now - info.mtimeMs > UNSTAMPED_AGE_MS : ownerGone(stamp);
    if (!gone) continue;
    await rm(dir, { recursive: true, force: true });
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
