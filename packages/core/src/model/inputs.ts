/**
 * The input hash of an image for one platform: what the build reads, reduced to a sha256 before
 * anything runs, so that a build whose inputs did not change can be recognised (issue 13). Pure:
 * the files are read by exec/input-files.ts, the outside bases' digests are given by the caller.
 *
 * The encoding, version `orchestrate-inputs/1` (a change to it must change the version, so that
 * hashes of two encodings never compare equal):
 *
 * - The context digest: sha256 over one line per entry of the context as the upload sends it
 *   (model/context-files.ts `walkContext`, in its order), each `JSON.stringify([path, kind,
 *   mode, content]) + "\n"`: `kind` "file", "dir" or "link"; `mode` the permission bits
 *   (mode & 0o7777) of a file or directory, 0 for a link; `content` the sha256 (hex) of a
 *   file, the target of a link, "" for a directory. JSON quoting keeps any path unambiguous.
 * - The input hash: sha256 over `JSON.stringify([version, platform, context digest,
 *   containerfile sha256, ignore files, target, build args, dependencies, bases])`, where
 *   `ignore files` is `[[name, sha256]]` for each of .containerignore and .dockerignore that
 *   exists (both go by content, as the upload sends them), `target` the stage or null, `build
 *   args` `[[name, value]]` sorted by name, `dependencies` `[[image, input hash]]` sorted by
 *   name (the spec images this one depends on, for the same platform: a changed base changes
 *   every dependent), and `bases` `[[reference, digest or null]]` sorted by reference: the
 *   outside images the build pulls, with the digest the caller resolved (null: not resolved,
 *   only the reference counts).
 */
import { createHash } from 'node:crypto';
import { byCodePoint } from '../util/order.js';
import { reachableFrom } from './graph.js';
import type { Image, Model } from './types.js';

export const INPUT_HASH_VERSION = 'orchestrate-inputs/1';

/** One entry of a context, as hashed. */
export interface ContextEntry {
  path: string;
  kind: 'file' | 'dir' | 'link';
  /** Permission bits; 0 for a link. */
  mode: number;
  /** sha256 (hex) of a file's content, a link's target, "" for a directory. */
  content: string;
}

/** What exec/input-files.ts read of one image's files. */
export interface ImageSources {
  contextDigest: string;
  /** sha256 (hex) of the Containerfile's content. */
  containerfile: string;
  /** [name, sha256] of each ignore file in the context, in IGNORE_FILES order. */
  ignoreFiles: readonly (readonly [string, string])[];
}

/** Image name -> platform -> input hash (hex). */
export type InputHashes = Record<string, Record<string, string>>;

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** The context digest of entries in walk order (see the encoding above). */
export function contextDigest(entries: Iterable<ContextEntry>): string {
  const hash = createHash('sha256');
  for (const entry of entries) hash.update(JSON.stringify([entry.path, entry.kind, entry.mode, entry.content]) + '\n');
  return hash.digest('hex');
}

/** The images whose hashes those of `names` need: them and what they depend on, in spec order. Empty `names`: all. */
export function imagesToHash(model: Model, names: readonly string[]): Image[] {
  if (names.length === 0) return model.images;
  const byName = new Map(model.images.map((image) => [image.name, image]));
  const needed = reachableFrom(names, (name) => byName.get(name)?.dependsOn ?? []);
  return model.images.filter((image) => needed.has(image.name));
}

/**
 * Input hashes of `images` (which must hold what each depends on: imagesToHash), for every
 * platform each builds. `bases`: outside reference -> digest, for the references the caller resolved.
 */
export function inputHashes(
  images: readonly Image[],
  sources: ReadonlyMap<string, ImageSources>,
  bases: Readonly<Record<string, string>> = {},
): InputHashes {
  const byName = new Map(images.map((image) => [image.name, image]));
  const hashes: InputHashes = {};
  const hashesOf = (image: Image, visiting: ReadonlySet<string>): Record<string, string> => {
    const done = hashes[image.name];
    if (done) return done;
    const source = sources.get(image.name);
    if (!source) throw new Error(`no sources read for image ${image.name}`);
    const inside = new Set([...visiting, image.name]);
    const dependencies = [...image.dependsOn].sort(byCodePoint).map((name) => {
      const dependency = byName.get(name);
      if (!dependency) throw new Error(`image ${image.name} depends on ${name}, which is not among the images hashed`);
      if (inside.has(name)) throw new Error(`dependency cycle through ${name}`);
      return [name, hashesOf(dependency, inside)] as const;
    });
    const args = Object.entries(image.buildArgs).sort(([a], [b]) => byCodePoint(a, b));
    const pulled = image.pulls.map((pull) => pull.reference).sort(byCodePoint);
    const outside = pulled.map((reference) => [reference, bases[reference] ?? null]);
    const perPlatform: Record<string, string> = {};
    for (const platform of image.platforms) {
      const deps = dependencies.map(([name, of]) => [name, of[platform] ?? allPlatforms(of)]);
      perPlatform[platform] = sha256(
        JSON.stringify([
          INPUT_HASH_VERSION,
          platform,
          source.contextDigest,
          source.containerfile,
          source.ignoreFiles,
          image.target ?? null,
          args,
          deps,
          outside,
        ]),
      );
    }
    hashes[image.name] = perPlatform;
    return perPlatform;
  };
  for (const image of images) hashesOf(image, new Set());
  return hashes;
}

/** A dependency not built for the platform (its build then takes what it has): all its platforms count. */
function allPlatforms(of: Record<string, string>): string {
  return sha256(JSON.stringify(Object.entries(of).sort(([a], [b]) => byCodePoint(a, b))));
}
