import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

/** What reading a spec file found. */
export type SpecFileRead =
  | { kind: 'text'; text: string }
  | { kind: 'missing' }
  | { kind: 'directory' }
  /** A FIFO, socket or device, through symlinks: never read (a device never ends, a FIFO may never answer). */
  | { kind: 'special'; what: string }
  /** More than `limit` bytes: reading stopped there. */
  | { kind: 'too-large'; limit: number }
  | { kind: 'unreadable'; reason: string };

const CHUNK = 64 * 1024;

/**
 * Reads a regular file, following symlinks, at most `limit` bytes. The size `stat` reports
 * is not trusted (a device reports 0 and never ends; a file may grow while it is read): the
 * cap applies while reading. O_NONBLOCK opens a FIFO without waiting for a writer, and what
 * is not a regular file is refused before any read.
 */
export async function readSpecFile(file: string, limit: number): Promise<SpecFileRead> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
    if (code === 'EISDIR') return { kind: 'directory' };
    return { kind: 'unreadable', reason: (error as Error).message };
  }
  try {
    const stats = await handle.stat();
    if (stats.isDirectory()) return { kind: 'directory' };
    if (!stats.isFile()) return { kind: 'special', what: specialKind(stats) };
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const { bytesRead, buffer } = await handle.read(Buffer.alloc(Math.min(CHUNK, limit + 1 - total)), 0);
      if (bytesRead === 0) break;
      chunks.push(buffer.subarray(0, bytesRead));
      total += bytesRead;
      if (total > limit) return { kind: 'too-large', limit };
    }
    return { kind: 'text', text: Buffer.concat(chunks, total).toString('utf8') };
  } catch (error) {
    return { kind: 'unreadable', reason: (error as Error).message };
  } finally {
    await handle.close();
  }
}

function specialKind(stats: import('node:fs').Stats): string {
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}
