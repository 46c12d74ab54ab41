/**
 * Dependencies between images that the Containerfiles imply (FROM, COPY --from), read as
 * podman and Docker resolve names: see inferDependencies. Pure.
 */
import path from 'node:path/posix';
import type { ResolveContext, SpecFiles } from './context.js';
import type { Image, Registry } from './types.js';
import {
  imageReferences,
  isFullyQualified,
  isLocalStorageName,
  normalizeName,
  normalizeReference,
  qualifiedSuggestion,
} from './containerfile.js';

/**
 * Adds the dependencies a Containerfile implies: a FROM or COPY --from naming another image
 * of the spec (in any of its registries, or as localhost/NAME; Docker Hub names as Docker
 * normalises them, so `acme/base` is `docker.io/acme/base`), with a tag the spec publishes it
 * under. A digest, or another tag, is what the author pinned: outside, and said so in the
 * plan. Other short names are left to podman, with a warning: they fail without a terminal.
 */
export function inferDependencies(
  ctx: ResolveContext,
  images: Image[],
  registries: readonly Registry[],
  files: SpecFiles,
  specDir: string,
): void {
  const byRepository = new Map<string, Image>();
  for (const image of images) {
    byRepository.set(`localhost/${image.repository}`, image);
    for (const registry of registries) {
      if (image.registries.includes(registry.name))
        byRepository.set(normalizeName(`${registry.url}/${image.repository}`), image);
    }
  }
  for (const image of images) {
    const text = files.readText(image.containerfile);
    if (text === undefined) continue;
    const shown = path.join(specDir, image.containerfile);
    for (const reference of imageReferences(text, image.buildArgs)) {
      const parsed = normalizeReference(reference.reference);
      const named = byRepository.get(parsed.name);
      const pinned = named && pinnedElsewhere(parsed, named);
      if (named && pinned) image.pinnedOutside.push(`${image.name}: ${reference.via} ${reference.reference} ${pinned}`);
      const dependency = pinned === undefined ? named?.name : undefined;
      const range = {
        start: { line: reference.line, col: reference.col },
        end: { line: reference.line, col: reference.endCol },
      };
      if (dependency === image.name) continue;
      if (dependency !== undefined) {
        if (!image.dependsOn.includes(dependency)) {
          image.dependsOn.push(dependency);
          image.dependencyReasons[dependency] = reference.via;
        }
        const references = (image.dependencyReferences[dependency] ??= []);
        // Both spellings: podman 4.3 (buildah 1.28) matches --build-context against the FROM text
        // as written, before ARG expansion; later versions match the expanded name.
        for (const name of [reference.reference, reference.written])
          if (!references.includes(name)) references.push(name);
        continue;
      }
      if (!reference.reference.includes('$')) {
        const pull = image.pulls.find((p) => p.reference === reference.reference) ?? {
          reference: reference.reference,
          spellings: [],
          ...(isLocalStorageName(reference.reference) && { localStorage: true as const }),
        };
        if (pull.spellings.length === 0) image.pulls.push(pull);
        for (const name of [reference.reference, reference.written])
          if (!pull.spellings.includes(name)) pull.spellings.push(name);
      }
      if (!isFullyQualified(reference.reference) && !reference.reference.startsWith('$')) {
        ctx.push(
          'warning',
          'short-name-from',
          range,
          `${reference.via} "${reference.reference}" is a short name; without a terminal podman may refuse to pick a registry for it`,
          `write "${qualifiedSuggestion(reference.reference)}"`,
          shown,
        );
      }
    }
  }
}

/**
 * Why a reference to an image of the spec names another image than this run's build of it,
 * or undefined when it names the build: no tag means "latest"; a tag made of an ARG without a
 * value (empty once expanded) cannot be told apart, so it is taken to mean the build.
 */
function pinnedElsewhere(reference: { tag?: string; digest?: string }, image: Image): string | undefined {
  if (reference.digest !== undefined)
    return `names a digest: built from that image as it is, not from this run's build of "${image.name}"`;
  const tag = reference.tag ?? 'latest';
  if (tag === '' || tag.includes('$') || image.tags.includes(tag)) return undefined;
  return `names tag "${tag}", which this spec does not publish "${image.name}" under (${image.tags.join(', ')}): built from that image as it is, not from this run's build`;
}
