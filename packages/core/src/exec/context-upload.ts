/**
 * A build context as a tar stream for a build host: the entries of walkContext (the walk
 * `validate` reports from, so what is checked is what is sent), then the containerfile and
 * the ignore file by content (see model/context-files.ts for the rules and why). What the
 * ignore rules leave out (node_modules, .env) never leaves this machine for a remote build.
 */
import { lstatSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Header, Pack, ReadEntry } from 'tar';
import { IGNORE_FILES, readRegularFile, specialKind, walkContext } from '../model/context-files.js';
import type { UploadLayout } from '../plan/upload.js';

/** The tar stream: entries under `layout.into`, without owners or times that say nothing to the host. */
export async function contextTar(specDir: string, layout: UploadLayout): Promise<Readable> {
  if (layout.paths.some((p) => p === '..' || p.startsWith('../'))) {
    throw new Error(
      `${layout.containerfile} lies outside its context (${layout.context}) and above it: it cannot be sent to a build host; move it into the context, or beside it`,
    );
  }
  const contextDir = path.resolve(specDir, layout.context);
  const root = path.posix.relative(layout.base, layout.context) || '.';
  const inBase = (entry: string): string => (root === '.' ? entry : `${root}/${entry}`);
  const walk = walkContext(contextDir, path.posix.relative(layout.context, layout.containerfile));
  const containerfile = readRegularFile(path.resolve(specDir, layout.containerfile));
  if (!containerfile)
    throw new Error(
      `${layout.containerfile} is not a regular file (symlinks followed): there is nothing to send as the containerfile`,
    );

  // The stat filter only guards against a file turned into a FIFO since the walk: tar would block opening it.
  const pack = new Pack({
    cwd: path.resolve(specDir, layout.base),
    portable: true,
    noDirRecurse: true,
    prefix: layout.into,
    filter: (_entry, stat) => stat instanceof ReadEntry || specialKind(stat) === undefined,
  });
  // The context directory itself, unless it is a symlink to one: tar makes it for what it holds.
  if (lstatSync(contextDir).isDirectory()) pack.add(root);
  for (const entry of walk.entries) pack.add(inBase(entry));
  pack.add(fileEntry(path.posix.relative(layout.base, layout.containerfile), containerfile));
  for (const name of IGNORE_FILES) {
    const file = readRegularFile(path.join(contextDir, name));
    if (file) pack.add(fileEntry(inBase(name), file));
  }
  pack.end();
  return Readable.from(pack);
}

/** A regular file entry holding `content`, whatever the path is on this machine (a symlink, say). */
function fileEntry(entryPath: string, file: NonNullable<ReturnType<typeof readRegularFile>>): ReadEntry {
  const entry = new ReadEntry(
    new Header({
      path: entryPath,
      type: 'File',
      mode: file.stats.mode & 0o7777,
      size: file.content.length,
      mtime: file.stats.mtime,
    }),
  );
  entry.end(file.content);
  return entry;
}
