/**
 * Reads what the input hashes (model/inputs.ts) are made of: each image's context as the upload
 * sends it (the same walkContext, so what is hashed is what is sent), its Containerfile and
 * ignore files. Regular files are hashed through the stat cache (stat-cache.ts); synchronous,
 * like the walk: one lstat per file is cheaper in the thread than through libuv's pool.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readlinkSync,
  readSync,
  type BigIntStats,
} from 'node:fs';
import path from 'node:path';
import { IGNORE_FILES, readRegularFile, walkContext } from '../model/context-files.js';
import {
  contextDigest,
  imagesToHash,
  inputHashes,
  type ContextEntry,
  type ImageSources,
  type InputHashes,
} from '../model/inputs.js';
import type { Image, Model } from '../model/types.js';
import { StatCache } from './stat-cache.js';

export interface InputFilesOptions {
  /** The stat cache file; undefined: none (everything is read). */
  cacheFile?: string | undefined;
  /** The clock (ms since the epoch), for tests of the racy-git rule. */
  nowMs?: number;
}

/** What reading cost: for the benchmark and for tests of the cache. */
export interface InputFilesStats {
  files: number;
  hits: number;
  misses: number;
  bytesRead: number;
}

export type InputFilesResult =
  | { ok: true; hashes: InputHashes; stats: InputFilesStats }
  /** An image whose files could not be read, and why. */
  | { ok: false; image: string; reason: string };

/**
 * Input hashes of the images `names` names (all when empty) and what they depend on.
 * `bases`: outside reference -> digest, as the caller resolved them.
 */
export function computeInputHashes(
  specDir: string,
  model: Model,
  names: readonly string[],
  bases: Readonly<Record<string, string>> = {},
  options: InputFilesOptions = {},
): InputFilesResult {
  const images = imagesToHash(model, names);
  const cache = new StatCache(options.cacheFile, options.nowMs);
  const reader = new FileHasher(cache);
  const sources = new Map<string, ImageSources>();
  // Images sharing a context and containerfile share one walk.
  const byContext = new Map<string, ImageSources>();
  for (const image of images) {
    const key = `${image.context}\0${image.containerfile}`;
    try {
      const known = byContext.get(key) ?? readImageSources(specDir, image, reader);
      byContext.set(key, known);
      sources.set(image.name, known);
    } catch (error) {
      return { ok: false, image: image.name, reason: (error as Error).message };
    }
  }
  cache.write();
  return {
    ok: true,
    hashes: inputHashes(images, sources, bases),
    stats: { files: reader.files, hits: cache.hits, misses: cache.misses, bytesRead: reader.bytesRead },
  };
}

/**
 * `$XDG_CACHE_HOME/orchestrate/inputs/<spec directory's hash>.json` (else under ~/.cache): one
 * cache per spec, as git keeps one index per repository. Undefined (no cache) without either.
 */
export function defaultStatCacheFile(
  env: Readonly<Record<string, string | undefined>>,
  specDir: string,
): string | undefined {
  const xdg = env['XDG_CACHE_HOME'];
  const home = env['HOME'];
  const base =
    xdg !== undefined && path.isAbsolute(xdg)
      ? xdg
      : home !== undefined && path.isAbsolute(home)
        ? path.join(home, '.cache')
        : undefined;
  if (base === undefined) return undefined;
  const name = createHash('sha256').update(path.resolve(specDir)).digest('hex').slice(0, 32);
  return path.join(base, 'orchestrate', 'inputs', `${name}.json`);
}

function readImageSources(specDir: string, image: Image, reader: FileHasher): ImageSources {
  const contextDir = path.resolve(specDir, image.context);
  const containerfile = readRegularFile(path.resolve(specDir, image.containerfile));
  if (!containerfile) throw new Error(`${image.containerfile} is not a readable regular file`);
  const walk = walkContext(contextDir, path.posix.relative(image.context, image.containerfile));
  reader.walking(contextDir);
  const entries = walk.entries.map((entry) => reader.entry(contextDir, entry));
  const ignoreFiles: [string, string][] = [];
  for (const name of IGNORE_FILES) {
    const file = readRegularFile(path.join(contextDir, name));
    if (file) ignoreFiles.push([name, sha256Hex(file.content)]);
  }
  return { contextDigest: contextDigest(entries), containerfile: sha256Hex(containerfile.content), ignoreFiles };
}

const sha256Hex = (content: Buffer): string => createHash('sha256').update(content).digest('hex');

/** Hashes files through the cache, reading them in chunks into one buffer (any size, little garbage). */
class FileHasher {
  files = 0;
  bytesRead = 0;
  private readonly buffer = Buffer.allocUnsafe(1 << 20);

  constructor(private readonly cache: StatCache) {}

  walking(contextDir: string): void {
    this.cache.walking(contextDir);
  }

  entry(contextDir: string, entry: string): ContextEntry {
    const file = path.join(contextDir, entry);
    const stats = lstatSync(file, { bigint: true });
    const mode = Number(stats.mode & 0o7777n);
    if (stats.isSymbolicLink()) return { path: entry, kind: 'link', mode: 0, content: readlinkSync(file) };
    if (stats.isDirectory()) return { path: entry, kind: 'dir', mode, content: '' };
    if (!stats.isFile()) throw new Error(`${file} is no longer a regular file, directory or symlink`);
    this.files++;
    const cached = this.cache.lookup(file, stats);
    if (cached !== undefined) return { path: entry, kind: 'file', mode, content: cached };
    const read = this.hash(file);
    this.cache.record(file, read.stats, read.hash);
    return { path: entry, kind: 'file', mode: Number(read.stats.mode & 0o7777n), content: read.hash };
  }

  /** The content's sha256, and the status of what was read (the descriptor's: a file replaced since the lstat is hashed as it is now). */
  private hash(file: string): { hash: string; stats: BigIntStats } {
    // Non-blocking and checked on the descriptor: a FIFO swapped in is never read (it would block for ever).
    const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    try {
      const stats = fstatSync(fd, { bigint: true });
      if (!stats.isFile()) throw new Error(`${file} is no longer a regular file`);
      const hash = createHash('sha256');
      for (let n; (n = readSync(fd, this.buffer, 0, this.buffer.length, null)) > 0;) {
        hash.update(this.buffer.subarray(0, n));
        this.bytesRead += n;
      }
      return { hash: hash.digest('hex'), stats };
    } finally {
      closeSync(fd);
    }
  }
}
