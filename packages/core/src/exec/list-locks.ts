/**
 * Local list names are per image, not per run (so `podman run NAME` finds the last build),
 * which makes two runs that build one image on one machine share them: one's reset removes
 * the list the other is testing. A run holds a lock per local list name it builds, taken
 * in sorted order (two runs never wait on each other in a circle) and released at its end;
 * a run that finds one held waits, and says for whom. A lock whose owner died is taken over.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, lstat, mkdir, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { ownerGone, ownerStamp } from './leftovers.js';
import { sleep } from './retry.js';

const POLL_MS = 250;
/** A takeover guard older than this was left by a run that died while taking over. */
const STALE_GUARD_MS = 10_000;

export interface ListLocks {
  release(): Promise<void>;
}

/** The lock file of one local list name. */
export function lockFile(dir: string, name: string): string {
  return path.join(dir, `${createHash('sha256').update(name).digest('hex').slice(0, 32)}.lock`);
}

/**
 * Takes a lock for each name under `dir`; `onWait` is told once per name held by another
 * live run. Resolves undefined when `signal` aborts while waiting (what it held is released).
 * Throws when `dir` is not a private directory of this user (then nothing is locked).
 */
export async function lockListNames(
  dir: string,
  names: Iterable<string>,
  who: string,
  signal: AbortSignal,
  onWait: (name: string, holder: string) => void,
): Promise<ListLocks | undefined> {
  await privateDirectory(dir);
  const held: string[] = [];
  const release = async (): Promise<void> => {
    await Promise.all(held.splice(0).map((file) => rm(file, { force: true })));
  };
  for (const name of [...new Set(names)].sort()) {
    const file = lockFile(dir, name);
    let told = false;
    for (;;) {
      if (signal.aborted) {
        await release();
        return undefined;
      }
      if (await create(file, `${ownerStamp()}\n${who}\n${name}\n`)) {
        held.push(file);
        break;
      }
      const [stamp = '', holder = 'another run'] = (await readNoFollow(file)).split('\n');
      // A lock of a run that died is taken over; one being written this instant (empty) is not.
      if (stamp !== '' && ownerGone(stamp)) {
        await takeOver(file, stamp);
        continue;
      }
      if (!told && stamp !== '') {
        told = true;
        onWait(name, `${holder} (pid ${stamp.split(' ')[1] ?? '?'})`);
      }
      await sleep(POLL_MS, signal);
    }
  }
  return { release };
}

/**
 * Removes a dead run's lock, under a guard only one taker can create: two runs that both
 * saw it dead would otherwise both remove it, the second removing the first's new lock.
 */
async function takeOver(file: string, deadStamp: string): Promise<void> {
  const guard = `${file}.takeover`;
  if (!(await create(guard, `${ownerStamp()}\n`))) {
    const info = await lstat(guard).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > STALE_GUARD_MS) await rm(guard, { force: true });
    return;
  }
  try {
    // Still the dead run's (not a new lock made since we looked): only then is it removed.
    if ((await readNoFollow(file)).split('\n')[0] === deadStamp) await rm(file, { force: true });
  } finally {
    await rm(guard, { force: true });
  }
}

/** The lock directory, made private if it is new; refused if it is a symlink, not ours, or open to others. */
async function privateDirectory(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await lstat(dir);
  const uid = process.getuid?.();
  if (!info.isDirectory()) throw new Error(`${dir} is not a directory`);
  if (uid !== undefined && info.uid !== uid) throw new Error(`${dir} belongs to another user`);
  if ((info.mode & 0o077) !== 0) await chmod(dir, 0o700);
}

async function create(file: string, content: string): Promise<boolean> {
  try {
    const handle = await open(
      file,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o600,
    );
    try {
      await handle.writeFile(content);
    } finally {
      await handle.close();
    }
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** A lock's content, never through a symlink (one planted there would show another file's lines). */
async function readNoFollow(file: string): Promise<string> {
  try {
    const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      return await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch {
    return '';
  }
}
