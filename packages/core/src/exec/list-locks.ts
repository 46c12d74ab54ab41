/**
 * Local list names are per image, not per run (so `podman run NAME` finds the last build),
 * which makes two runs that build one image on one machine share them: one's reset removes
 * the list the other is testing. A run holds a lock per local list name it builds, taken
 * in sorted order (two runs never wait on each other in a circle) and released at its end;
 * a run that finds one held waits, and says for whom. A lock whose owner died is taken over.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { ownerGone, ownerStamp } from './leftovers.js';
import { sleep } from './retry.js';

const POLL_MS = 250;

export interface ListLocks {
  release(): Promise<void>;
}

/**
 * Takes a lock for each name under `dir`; `onWait` is told once per name held by another
 * live run. Resolves undefined when `signal` aborts while waiting (what it held is released).
 */
export async function lockListNames(
  dir: string,
  names: Iterable<string>,
  who: string,
  signal: AbortSignal,
  onWait: (name: string, holder: string) => void,
): Promise<ListLocks | undefined> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const held: string[] = [];
  const release = async (): Promise<void> => {
    await Promise.all(held.splice(0).map((file) => rm(file, { force: true })));
  };
  for (const name of [...new Set(names)].sort()) {
    const file = path.join(dir, `${createHash('sha256').update(name).digest('hex').slice(0, 32)}.lock`);
    let told = false;
    for (;;) {
      if (signal.aborted) {
        await release();
        return undefined;
      }
      const taken = await tryLock(file, `${ownerStamp()}\n${who}\n${name}\n`);
      if (taken) {
        held.push(file);
        break;
      }
      const [stamp = '', holder = 'another run'] = (await readFile(file, 'utf8').catch(() => '')).split('\n');
      // A lock of a run that died, or one being written this instant (empty): the first is ours to take over.
      if (stamp !== '' && ownerGone(stamp)) {
        await rm(file, { force: true });
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

async function tryLock(file: string, content: string): Promise<boolean> {
  try {
    const handle = await open(file, 'wx', 0o600);
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
