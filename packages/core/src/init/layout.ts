import path from 'node:path/posix';
import { dockerNormalised, imageReferences, normalizeReference, repositoryOf } from '../model/containerfile.js';
import { byCodePoint } from '../util/order.js';

/** A Containerfile found in the project: its path from the project root (posix), and its text. */
export interface FoundContainerfile {
  path: string;
  text: string;
}

/** One image `orchestrate init` writes. */
export interface LayoutImage {
  name: string;
  context: string;
  /** Only when the planner would not find it by itself (Containerfile, then Dockerfile). */
  containerfile?: string;
  /** Images of the layout its FROM lines name: the planner infers these, init writes no dependsOn. */
  dependsOn: string[];
  /** Outside images its FROM lines name, ARG defaults applied; `$` left in means an ARG with no default. */
  bases: string[];
  /** Tags other images' FROM lines name it by: the planner takes a tag the spec does not publish as an outside image. */
  tags: string[];
}

export interface Layout {
  images: LayoutImage[];
  /** Where the FROM lines find images of this layout (`quay.io/jupyter`): the registries to publish to. */
  registryUrls: string[];
  /** What init could not make hold, for comments and for the user. */
  notes: string[];
}

/** Directories that hold other people's files or tools' state, never a project's images. */
export const SKIPPED_DIRECTORIES: ReadonlySet<string> = new Set([
  'node_modules',
  'vendor',
  'bower_components',
  'third_party',
  '__pycache__',
]);

/** Hidden directories (.git, .github, .devcontainer) are tools' state too. */
export function isSkippedDirectory(name: string): boolean {
  return name.startsWith('.') || SKIPPED_DIRECTORIES.has(name);
}

const DEFAULT_NAMES = ['Containerfile', 'Dockerfile'];
/** Files named like a Containerfile that are its companions or templates, not buildable as they are. */
const NOT_BUILDABLE =
  /\.(?:dockerignore|containerignore|ignore|md|txt|template|tmpl|tpl|j2|jinja2?|in|erb|orig|bak|swp|rej|sh|ya?ml|json)$/i;

/**
 * Containerfile, Dockerfile, and the variants many repositories keep beside them or in one
 * folder: `Dockerfile.dev`, `Containerfile.cuda`, `r-ver_4.4.1.Dockerfile`. Variants are in
 * because a missed image is silent while an extra one is a visible entry to delete.
 */
export function isContainerfileName(name: string): boolean {
  if (DEFAULT_NAMES.includes(name)) return true;
  if (NOT_BUILDABLE.test(name)) return false;
  return /^(?:container|docker)file\.[^.]+/i.test(name) || /.\.(?:container|docker)file$/i.test(name);
}

/**
 * A name the schema's image-name pattern accepts, from a folder or file name: camelCase
 * split (NodeBase: node-base, as such repositories publish it), lower case, other
 * characters and runs of separators as one "-".
 */
export function imageNameFrom(raw: string): string {
  const name = raw
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/[._-]{2,}/g, (run) => (run === '__' ? run : '-'))
    .replace(/^[._-]+|[._-]+$/g, '');
  return name === '' ? 'image' : name;
}

/** What FROM text and folder names are compared by: node-base, NodeBase and node_base are one. */
const matchKey = (name: string): string => name.toLowerCase().replace(/[^a-z0-9]/g, '');

interface Candidate {
  file: FoundContainerfile;
  dir: string;
  base: string;
  /** The name from folders and file names, before de-duplication. */
  derived: string;
  /** The name a sibling's FROM line gives it: what makes that dependency hold. */
  named?: string;
  name: string;
  /** Tags siblings' FROM lines name it by (no tag: latest): published too, so those FROMs mean this run's build. */
  tags?: string[];
}

/**
 * The images of a project from its Containerfiles: contexts from folders, names from the
 * FROM lines that name them (with the registry path those lines use), else from folders,
 * made unique. Pure: the caller found the files and read them.
 */
export function analyzeLayout(found: readonly FoundContainerfile[], projectName: string): Layout {
  const files = [...found].sort((a, b) => byCodePoint(a.path, b.path));
  const defaults = new Map<string, string>();
  for (const file of files) {
    const dir = path.dirname(file.path);
    const base = path.basename(file.path);
    if (DEFAULT_NAMES.includes(base) && (!defaults.has(dir) || base === 'Containerfile')) defaults.set(dir, base);
  }
  const candidates: Candidate[] = files.map((file) => {
    const dir = path.dirname(file.path);
    const base = path.basename(file.path);
    return { file, dir, base, derived: derivedName(dir, base, defaults, projectName), name: '' };
  });

  const notes: string[] = [];
  const registryUrls: string[] = [];
  const links = new Map<Candidate, Candidate[]>();
  const bases = new Map<Candidate, string[]>();
  for (const candidate of candidates) {
    const own: string[] = [];
    const dependencies: Candidate[] = [];
    for (const { reference } of imageReferences(candidate.file.text, {})) {
      const pinned = normalizeReference(reference).digest !== undefined;
      const sibling = reference.includes('$') || pinned ? undefined : siblingOf(reference, candidates);
      // A folder's own name in its FROM (tool/ on quay.io/other/tool) is the upstream image it extends.
      if (sibling === undefined || sibling.target === candidate) {
        if (!own.includes(reference)) own.push(reference);
        continue;
      }
      if (!dependencies.includes(sibling.target)) dependencies.push(sibling.target);
      const tag = normalizeReference(reference).tag ?? 'latest';
      if (!(sibling.target.tags ??= []).includes(tag)) sibling.target.tags.push(tag);
      const named = sibling.target.named;
      if (named === undefined) sibling.target.named = sibling.name;
      else if (named !== sibling.name)
        notes.push(
          `${candidate.file.path} names ${sibling.target.file.path} as "${sibling.name}", others as "${named}": that FROM stays external`,
        );
      if (sibling.registry !== undefined && !registryUrls.includes(sibling.registry))
        registryUrls.push(sibling.registry);
    }
    links.set(candidate, dependencies);
    bases.set(candidate, own);
  }

  assignNames(candidates);
  const images = candidates.map((c): LayoutImage => ({
    name: c.name,
    context: c.dir,
    ...(defaults.get(c.dir) !== c.base && { containerfile: c.base }),
    dependsOn: (links.get(c) ?? []).map((d) => d.name),
    bases: bases.get(c) ?? [],
    tags: c.tags ?? [],
  }));
  return { images: dependencyOrder(images), registryUrls, notes };
}

function derivedName(dir: string, base: string, defaults: ReadonlyMap<string, string>, projectName: string): string {
  const outer = outerImageDir(dir, defaults);
  const folderName =
    (outer === undefined ? '' : `${imageNameFrom(path.basename(outer))}-`) +
    imageNameFrom(dir === '.' ? projectName : path.basename(dir));
  if (defaults.get(dir) === base) return folderName;
  const prefixed = /^(?:container|docker)file\.(.+)$/i.exec(base);
  if (prefixed) return `${folderName}-${imageNameFrom(prefixed[1]!)}`;
  // r-ver_4.4.1.Dockerfile, xgboost.dockerfile: the file's own name names the image.
  const suffixed = /^(.+)\.(?:container|docker)file$/i.exec(base);
  return suffixed ? imageNameFrom(suffixed[1]!) : `${folderName}-${imageNameFrom(base)}`;
}

/** An image folder inside another one's (pytorch-notebook/cuda12) is a variant of it: named after both. */
function outerImageDir(dir: string, defaults: ReadonlyMap<string, string>): string | undefined {
  for (let parent = path.dirname(dir); parent !== '.'; parent = path.dirname(parent))
    if (defaults.has(parent)) return parent;
  return undefined;
}

/**
 * The image of the layout a reference names, read as Docker reads it, by its last path
 * component: `quay.io/jupyter/base-notebook` is the one in a folder base-notebook, with
 * registry quay.io/jupyter. Official images (docker.io/library) never are; nor is a name
 * that two images could be.
 */
function siblingOf(
  reference: string,
  candidates: readonly Candidate[],
): { target: Candidate; name: string; registry?: string } | undefined {
  const repository = repositoryOf(dockerNormalised(reference));
  const slash = repository.lastIndexOf('/');
  const prefix = repository.slice(0, slash);
  const name = repository.slice(slash + 1);
  // A registry url needs a namespace after its host (localhost/NAME is local storage, no registry).
  if (prefix === 'docker.io/library' || (prefix !== 'localhost' && !prefix.includes('/'))) return undefined;
  const matches = candidates.filter((c) => matchKey(c.derived) === matchKey(name));
  const target = matches.length === 1 ? matches[0] : matches.find((c) => c.derived === name);
  if (target === undefined) return undefined;
  return { target, name, ...(prefix !== 'localhost' && { registry: prefix }) };
}

/**
 * Names from FROM lines first (they make the dependencies hold), then folder names; a
 * folder name taken already gets its parent folders' names before it, then a number.
 */
function assignNames(candidates: Candidate[]): void {
  const taken = new Set<string>();
  for (const c of candidates) {
    if (c.named !== undefined && !taken.has(c.named)) {
      c.name = c.named;
      taken.add(c.name);
    }
  }
  for (const c of candidates) {
    if (c.name !== '') continue;
    let name = c.derived;
    for (let dir = path.dirname(c.dir); taken.has(name) && dir !== '.'; dir = path.dirname(dir))
      name = `${imageNameFrom(path.basename(dir))}-${name}`;
    for (let n = 2; taken.has(name); n++) name = `${c.derived}-${n}`;
    c.name = name;
    taken.add(name);
  }
}

/** Bases before what is built on them, else in path order: the file reads in build order. */
function dependencyOrder(images: readonly LayoutImage[]): LayoutImage[] {
  const done = new Set<string>();
  const ordered: LayoutImage[] = [];
  const visit = (image: LayoutImage, seen: Set<string>): void => {
    if (done.has(image.name) || seen.has(image.name)) return;
    seen.add(image.name);
    for (const dependency of image.dependsOn) {
      const found = images.find((i) => i.name === dependency);
      if (found) visit(found, seen);
    }
    done.add(image.name);
    ordered.push(image);
  };
  for (const image of images) visit(image, new Set());
  return ordered;
}
