/**
 * A stat cache like git's index: a file's content hash, kept with the status it had when it was
 * hashed (size, mtime and ctime in ns, inode, mode), so that a tree whose files did not change
 * is hashed with one lstat per file and no read. Read once, written once, atomically (a
 * temporary file renamed over the old one), so concurrent runs never see half a file; the last
 * writer wins. A cache file that is missing, corrupt or of another format is ignored: the cost
 * is hashing again, never a wrong hash.
 *
 * Racy-git safe: a file changed within the timestamp granularity of its last change looks
 * unchanged to stat. So an entry is written only if the file's mtime and ctime are older, by a
 * margin, than the moment this cache was opened (before any file was hashed): a file written
 * since, or just before, is hashed again next time rather than trusted.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, type BigIntStats } from 'node:fs';
import path from 'node:path';

export const STAT_CACHE_FORMAT = 'orchestrate-stat-cache/1';

/** Coarser than any timestamp granularity in use (FAT's 2 s): a file changed this close to the hashing is not trusted. */
export const RACY_MARGIN_NS = 2_000_000_000n;

/** [size, mtime ns, ctime ns, inode, mode, sha256 hex]; the numbers as decimal strings (ns and inodes exceed 2^53). */
type Entry = [string, string, string, string, string, string];

interface CacheFile {
  format: typeof STAT_CACHE_FORMAT;
  files: Record<string, Entry>;
}

export class StatCache {
  hits = 0;
  misses = 0;
  private readonly previous: Map<string, Entry>;
  /** What this run saw: only these are written of the contexts it walked, so files gone from them leave the cache. */
  private readonly seen = new Map<string, Entry>();
  /** The context directories this run walked whole: entries elsewhere (another image's, with --image) are kept. */
  private readonly walked = new Set<string>();
  /** Entries changed at or after this (ns since the epoch) are not written. */
  private readonly trustedBefore: bigint;

  /** `file` undefined: no cache, everything is hashed and nothing kept. `nowMs`: the clock, for tests. */
  constructor(
    private readonly file: string | undefined,
    nowMs: number = Date.now(),
  ) {
    this.trustedBefore = BigInt(Math.floor(nowMs)) * 1_000_000n - RACY_MARGIN_NS;
    this.previous = file === undefined ? new Map<string, Entry>() : readCache(file);
  }

  /** The hash recorded for `file` if its status is the one recorded with it. */
  lookup(file: string, stats: BigIntStats): string | undefined {
    const entry = this.previous.get(file);
    const key = keyOf(stats);
    if (entry && key.every((field, i) => entry[i] === field)) {
      this.hits++;
      this.seen.set(file, entry);
      return entry[5];
    }
    this.misses++;
    return undefined;
  }

  /** This run walks `dir` whole: what it does not see there is gone. */
  walking(dir: string): void {
    this.walked.add(dir.endsWith(path.sep) ? dir : `${dir}${path.sep}`);
  }

  /** Records the hash of `file`, read while it had `stats` (from the descriptor it was read through). */
  record(file: string, stats: BigIntStats, hash: string): void {
    const changed = stats.mtimeNs > stats.ctimeNs ? stats.mtimeNs : stats.ctimeNs;
    if (changed < this.trustedBefore) this.seen.set(file, [...keyOf(stats), hash]);
  }

  /**
   * Writes what this run saw, atomically. Errors are returned, not thrown: a cache that cannot
   * be written (a read-only home) costs speed next time, nothing else.
   */
  write(): Error | undefined {
    if (this.file === undefined) return undefined;
    const temporary = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
      const kept = [...this.previous].filter(([file]) => ![...this.walked].some((dir) => file.startsWith(dir)));
      const content: CacheFile = { format: STAT_CACHE_FORMAT, files: Object.fromEntries([...kept, ...this.seen]) };
      writeFileSync(temporary, JSON.stringify(content), { mode: 0o600 });
      renameSync(temporary, this.file);
      return undefined;
    } catch (error) {
      try {
        rmSync(temporary, { force: true });
      } catch {
        // The directory itself could not be made: there is no temporary file to remove.
      }
      return error as Error;
    }
  }
}

function keyOf(stats: BigIntStats): [string, string, string, string, string] {
  return [String(stats.size), String(stats.mtimeNs), String(stats.ctimeNs), String(stats.ino), String(stats.mode)];
}

/** The cache's entries, or none when the file is missing, unreadable, not JSON or not of this format. */
function readCache(file: string): Map<string, Entry> {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return new Map();
  }
  const entries = new Map<string, Entry>();
  const cache = (typeof data === 'object' && data !== null ? data : {}) as { format?: unknown; files?: unknown };
  if (cache.format !== STAT_CACHE_FORMAT || typeof cache.files !== 'object' || cache.files === null) return entries;
  for (const [name, entry] of Object.entries(cache.files))
    if (Array.isArray(entry) && entry.length === 6 && entry.every((field) => typeof field === 'string'))
      entries.set(name, entry as Entry);
  return entries;
}
