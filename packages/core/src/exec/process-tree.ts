/**
 * The processes under a process, read from /proc. Signalling a process group is not enough
 * for podman: the process a RUN step starts runs in its own session (and as PID 1 of its
 * namespace, it ignores SIGTERM), so when podman dies it is left behind, reparented to init.
 * Walking the tree while podman is still alive finds it.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** pid -> parent pid, for every process visible now. */
function parents(): Map<number, number> {
  const map = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      map.set(Number(entry), ppid);
    } catch {
      // Gone while we looked.
    }
  }
  return map;
}

/** Every descendant of `root` (not `root` itself), deepest last. */
export function descendants(root: number): number[] {
  return descendantsOf([root]);
}

/** Every descendant of any of `roots` (not the roots themselves), from one read of /proc. */
export function descendantsOf(roots: readonly number[]): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of parents()) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const found = new Set<number>();
  const queue = roots.flatMap((root) => children.get(root) ?? []);
  while (queue.length > 0) {
    const pid = queue.shift()!;
    if (found.has(pid) || roots.includes(pid)) continue;
    found.add(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return [...found];
}

/** When a process started (clock ticks since boot): with its pid, it names one process, even after pids wrap. */
export function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Signals the process only if it is still the one seen (same start time): a reused pid is left alone. */
export function signalProcess(pid: number, signal: NodeJS.Signals, started?: string): void {
  if (started !== undefined && startTime(pid) !== started) return;
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * Bytes the processes read and wrote so far, all I/O included (rchar + wchar of /proc/PID/io):
 * a command moving data over the network keeps this growing even when it prints nothing.
 */
export function ioBytes(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const io = readFileSync(`/proc/${pid}/io`, 'utf8');
      total += Number(/^rchar: (\d+)/m.exec(io)?.[1] ?? 0) + Number(/^wchar: (\d+)/m.exec(io)?.[1] ?? 0);
    } catch {
      // Gone, or not ours to read.
    }
  }
  return total;
}
