/**
 * Where an image's build context goes on a build host: under the run's directory there, in
 * a directory named after the image, keeping the context's and containerfile's paths relative
 * to their nearest common directory (so a containerfile outside the context goes too). A
 * containerfile that lies above its context's tree (more ".." than the context) keeps a ".."
 * path here, and the upload refuses it with a message, rather than writing outside `into`.
 */
import path from 'node:path/posix';

export interface UploadLayout {
  /** Local directory (relative to the spec's) the tar's entries are relative to. */
  base: string;
  /** What is archived, relative to `base`: the context, and the containerfile if it lies outside it. */
  paths: string[];
  /** The context directory, relative to the spec's: ignore rules are relative to it. */
  context: string;
  containerfile: string;
  /** Every entry is put under this directory on the host (relative to the run's directory). */
  into: string;
}

export function uploadLayout(
  context: string,
  containerfile: string,
  into: string,
): { upload: UploadLayout; remoteContext: string; remoteContainerfile: string } {
  const inside = !path.relative(context, containerfile).startsWith('..');
  const base = inside ? context : commonDirectory(context, path.dirname(containerfile));
  const relContext = path.relative(base, context) || '.';
  const relContainerfile = path.relative(base, containerfile);
  return {
    upload: { base, paths: inside ? [relContext] : [relContext, relContainerfile], context, containerfile, into },
    remoteContext: path.join(into, relContext),
    remoteContainerfile: path.join(into, relContainerfile),
  };
}

function commonDirectory(a: string, b: string): string {
  const left = path.normalize(a).split('/');
  const right = path.normalize(b).split('/');
  const common: string[] = [];
  for (let i = 0; i < Math.min(left.length, right.length) && left[i] === right[i]; i++) common.push(left[i]!);
  // Both climbed out by different numbers of "..": the common part must still hold all the climbing.
  return common.length === 0 ? '.' : common.join('/');
}
