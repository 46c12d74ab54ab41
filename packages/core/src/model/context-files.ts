/**
 * What a build context holds, and what of it goes to a build host: one walk, used by the
 * analyzer (through SpecFiles, to report at `validate`) and by the upload's tar (to send
 * what the walk lists), so the two can never disagree. The rules:
 *
 * - The ignore rules are podman's: `.containerignore`, else `.dockerignore`, with Docker's
 *   own matching (@balena/dockerignore). Ignored directories are not walked (cheap for
 *   node_modules), unless a "!" exception may bring a file back out of one.
 * - What podman reads by name, the containerfile and the ignore files, goes by its content,
 *   through symlinks: podman reads them through links here, so a link to a shared file
 *   elsewhere builds the same on a host. They are not part of the walk's entries.
 * - Regular files, directories and symlinks go as they are. A symlink goes as a link, as
 *   Docker sends it: one that points outside the context dangles on the host.
 * - Anything else (FIFO, socket, device) never goes: tar would block for ever opening a
 *   FIFO. The walk lists them, so that `validate` reports them before anything runs.
 */
import { closeSync, constants, fstatSync, openSync, readdirSync, readFileSync, type Dirent, type Stats } from 'node:fs';
import path from 'node:path';
import dockerignore from '@balena/dockerignore';
import { byCodePoint } from '../util/order.js';

// A CommonJS `module.exports = factory` typed as `export default`: at run time the default import is the factory.
const createIgnore = dockerignore as unknown as typeof dockerignore.default;

export const IGNORE_FILES = ['.containerignore', '.dockerignore'] as const;
const isIgnoreFile = (name: string): boolean => (IGNORE_FILES as readonly string[]).includes(name);

export type SpecialKind = 'FIFO' | 'socket' | 'character device' | 'block device';

export interface ContextWalk {
  /** What goes as it is, relative to the context (posix), each directory before what it holds; the context itself is not listed. */
  entries: string[];
  /** What never goes: neither a regular file, a directory nor a symlink. Relative to the context. */
  special: { path: string; kind: SpecialKind }[];
}

/**
 * A regular file's content and status, through symlinks; undefined for anything else
 * (missing, a directory, a FIFO). Opened without blocking and checked on the open
 * descriptor, so a FIFO (even one swapped in after a check) is never read. Undefined, not
 * read, too when it is larger than `maxBytes`.
 */
export function readRegularFile(file: string, maxBytes = Infinity): { content: Buffer; stats: Stats } | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const stats = fstatSync(fd);
    return stats.isFile() && stats.size <= maxBytes ? { content: readFileSync(fd), stats } : undefined;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** The ignore rules podman applies to this context: the first ignore file found, else none. */
export function readIgnoreRules(contextDir: string): { file?: string; patterns: string[] } {
  for (const name of IGNORE_FILES) {
    const text = readRegularFile(path.join(contextDir, name))?.content.toString('utf8');
    if (text !== undefined)
      return {
        file: name,
        patterns: text.split(/\r?\n/).filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#')),
      };
  }
  return { patterns: [] };
}

/**
 * Whether a path of the context (relative to it, posix) is sent as far as the ignore rules
 * go. `containerfile` is relative to the context (starting with ".." when it lies outside).
 */
export function contextFilter(
  patterns: readonly string[],
  containerfile: string,
): (entry: string, isDirectory: boolean) => boolean {
  const ignore = createIgnore().add([...patterns]);
  // A "!" exception can bring back a file inside an ignored directory: then directories are walked, and only files dropped.
  const exceptions = patterns.some((p) => p.trim().startsWith('!'));
  const keep = new Set<string>([containerfile, ...IGNORE_FILES]);
  // Directories on the way to the containerfile are walked even if ignored: podman on the host reads it there.
  const ancestors = new Set(
    containerfile
      .split('/')
      .slice(0, -1)
      .map((_, i, parts) => parts.slice(0, i + 1).join('/')),
  );
  return (entry, isDirectory) => {
    const normalised = path.posix.normalize(entry);
    if (keep.has(normalised) || (isDirectory && ancestors.has(normalised))) return true;
    if (isDirectory && exceptions) return true;
    return !ignore.ignores(normalised);
  };
}

/** What the entry is, when it is none of the kinds that are sent. */
export function specialKind(entry: Dirent | Stats): SpecialKind | undefined {
  if (entry.isFile() || entry.isDirectory() || entry.isSymbolicLink()) return undefined;
  if (entry.isFIFO()) return 'FIFO';
  if (entry.isSocket()) return 'socket';
  if (entry.isBlockDevice()) return 'block device';
  return 'character device';
}

/**
 * Walks a context as the upload sends it. Synchronous: `validate` resolves synchronously,
 * and the walk touches only what the ignore rules let through (a readdir per directory,
 * no stat per file). Throws if a directory cannot be read: the upload could not send it.
 */
export function walkContext(contextDir: string, containerfile: string): ContextWalk {
  const { patterns } = readIgnoreRules(contextDir);
  const sent = contextFilter(patterns, containerfile);
  const containerfileEntry = path.posix.normalize(containerfile);
  const walk: ContextWalk = { entries: [], special: [] };
  const visit = (dir: string): void => {
    const dirents = readdirSync(dir === '' ? contextDir : path.join(contextDir, dir), { withFileTypes: true });
    dirents.sort((a, b) => byCodePoint(a.name, b.name));
    for (const dirent of dirents) {
      const entry = dir === '' ? dirent.name : `${dir}/${dirent.name}`;
      const isDirectory = dirent.isDirectory();
      if (!sent(entry, isDirectory)) continue;
      // Sent by content, not as entries. The containerfile is the analyzer's to judge (a regular file, through symlinks).
      if (entry === containerfileEntry) continue;
      if (dir === '' && isIgnoreFile(dirent.name) && (dirent.isFile() || dirent.isSymbolicLink())) continue;
      const kind = specialKind(dirent);
      if (kind !== undefined) {
        walk.special.push({ path: entry, kind });
        continue;
      }
      walk.entries.push(entry);
      if (isDirectory) visit(entry);
    }
  };
  visit('');
  return walk;
}
