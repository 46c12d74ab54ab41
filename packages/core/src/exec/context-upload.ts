/**
 * A build context as a tar stream for a build host, honouring `.containerignore` (else
 * `.dockerignore`) with Docker's own matching rules (@balena/dockerignore), so what stays
 * out of a local build (node_modules, .env) never leaves this machine for a remote one.
 * The containerfile and the ignore file always go: podman on the host reads them.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import dockerignore from '@balena/dockerignore';
import { create } from 'tar';
import type { UploadLayout } from '../plan/upload.js';

// A CommonJS `module.exports = factory` typed as `export default`: at run time the default import is the factory.
const createIgnore = dockerignore as unknown as typeof dockerignore.default;

export const IGNORE_FILES = ['.containerignore', '.dockerignore'] as const;

/** The ignore rules podman applies to this context: the first ignore file found, else none. */
export async function readIgnoreRules(contextDir: string): Promise<{ file?: string; patterns: string[] }> {
  for (const name of IGNORE_FILES) {
    const text = await readFile(path.join(contextDir, name), 'utf8').catch(() => undefined);
    if (text !== undefined) return { file: name, patterns: text.split(/\r?\n/).filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#')) };
  }
  return { patterns: [] };
}

/** Whether a path (relative to the base of the layout) is sent. */
export function contextFilter(layout: UploadLayout, patterns: readonly string[]): (entry: string, isDirectory: boolean) => boolean {
  const ignore = createIgnore().add([...patterns]);
  // A "!" exception can bring back a file inside an ignored directory: then directories are walked, and only files dropped.
  const exceptions = patterns.some((p) => p.trim().startsWith('!'));
  const containerfile = path.posix.relative(layout.context, layout.containerfile);
  const keep = new Set([containerfile, ...IGNORE_FILES]);
  // Directories on the way to the containerfile are walked even if ignored: it always goes.
  const ancestors = new Set(containerfile.split('/').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('/')));
  return (entry, isDirectory) => {
    const inContext = path.posix.relative(path.posix.relative(layout.base, layout.context) || '.', path.posix.normalize(entry));
    if (inContext === '' || inContext === '.' || inContext === '..' || inContext.startsWith('../')) return true; // the context itself, or the containerfile beside it
    if (keep.has(inContext) || (isDirectory && ancestors.has(inContext))) return true;
    if (isDirectory && exceptions) return true;
    return !ignore.ignores(inContext);
  };
}

/** The tar stream: entries under `layout.into`, without owners or times that say nothing to the host. */
export async function contextTar(specDir: string, layout: UploadLayout): Promise<Readable> {
  if (layout.paths.some((p) => p === '..' || p.startsWith('../'))) {
    throw new Error(`${layout.containerfile} lies outside its context (${layout.context}) and above it: it cannot be sent to a build host; move it into the context, or beside it`);
  }
  const contextDir = path.resolve(specDir, layout.context);
  const { patterns } = await readIgnoreRules(contextDir);
  const filter = contextFilter(layout, patterns);
  const pack = create(
    { cwd: path.resolve(specDir, layout.base), portable: true, prefix: layout.into, filter: (entry, stat) => filter(entry, 'isDirectory' in stat && typeof stat.isDirectory === 'function' ? stat.isDirectory() : false) },
    layout.paths,
  );
  return Readable.from(pack);
}
