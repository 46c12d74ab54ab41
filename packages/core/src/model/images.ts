import path from 'node:path/posix';
import type { SpecPath } from '../config/source.js';
import type { Severity } from '../diagnostics.js';
import { writtenScalar, type ResolveContext, type SpecFiles } from './context.js';
import type { ImageSpec, SpecDocument } from './spec.js';
import type { Image, Registry, SmokeTest } from './types.js';
import { resolvePlatformList } from './infrastructure.js';
import { checkSecretFiles, checkSecretLookingBuildArgs, mergeBuildSecrets } from './build-secrets.js';
import { Names, suggestion } from '../util/suggest.js';
import { expectProblem } from '../util/expect.js';
import { parseTimeout } from '../util/duration.js';

const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
export const DEFAULT_PLATFORMS = ['linux/amd64', 'linux/arm64'];

/** Images with everything but inferred dependencies, which need every image's repository first. */
export function resolveImages(
  ctx: ResolveContext,
  spec: SpecDocument,
  registries: readonly Registry[],
  files: SpecFiles,
): Image[] {
  const defaultPlatforms = spec.platforms ? resolvePlatformList(ctx, ['platforms'], spec.platforms) : DEFAULT_PLATFORMS;
  const imageNames = new Set(Object.keys(spec.images));
  const registryNames = registries.map((r) => r.name);
  const hostNames = ['local', ...Object.keys(spec.hosts ?? {}).filter((h) => h !== 'local')];
  const scope: Scope = {
    spec,
    defaultPlatforms,
    defaultTimeoutMs: spec.timeout === undefined ? undefined : resolveTimeout(ctx, ['timeout'], spec.timeout),
    imageNames,
    images: new Names(imageNames),
    registryNames,
    hostNames,
    files,
  };
  checkSecretFiles(ctx, ['secrets'], spec.secrets, files);
  return Object.entries(spec.images).map(([name, image]) => resolveImage(ctx, name, image, scope));
}

interface Scope {
  spec: SpecDocument;
  defaultPlatforms: string[];
  /** The top-level `timeout:`, checked once (undefined: none, or reported). */
  defaultTimeoutMs: number | undefined;
  imageNames: ReadonlySet<string>;
  /** The same, prepared once for suggestions: 20,000 unknown dependencies must not rebuild the list each. */
  images: Names;
  registryNames: string[];
  hostNames: string[];
  files: SpecFiles;
}

function resolveImage(ctx: ResolveContext, name: string, spec: ImageSpec, scope: Scope): Image {
  const at = ['images', name];
  const expandedContext = ctx.expand([...at, 'context'], spec.context);
  const context = normalise(expandedContext.value);
  const containerfile = expandedContext.ok
    ? locateContainerfile(ctx, at, context, spec, scope.files)
    : path.join(context, spec.containerfile ?? 'Containerfile');
  if (expandedContext.ok && scope.files.isDirectory(context))
    checkContextFiles(ctx, [...at, 'context'], context, containerfile, scope.files);

  const expandedRepository =
    spec.repository === undefined ? { value: name, ok: true } : ctx.expand([...at, 'repository'], spec.repository);
  const repository = expandedRepository.value;
  if (spec.repository !== undefined && expandedRepository.ok && !REPOSITORY.test(repository)) {
    ctx.error(
      'invalid-name',
      [...at, 'repository'],
      `"${repository}" is not a repository path`,
      'lower-case path components separated by "/"',
    );
  }

  const written = spec.tags ?? ['latest'];
  const tags: string[] = [];
  written.forEach((raw, i) => {
    const { value: tag, ok } = ctx.expand([...at, 'tags', i], raw);
    // An undefined variable was reported already: the unexpanded text is not a second problem.
    if (ok && !TAG.test(tag)) {
      ctx.error(
        'invalid-value',
        [...at, 'tags', i],
        `"${tag}" is not a valid tag`,
        'a tag is up to 128 letters, digits, "_", "." and "-", not starting with "." or "-"',
      );
    }
    // Identical written tags are the schema's to report; these only become equal once expanded.
    if (ok && tags.some((earlier, j) => earlier === tag && written[j] !== raw)) {
      ctx.error(
        'invalid-value',
        [...at, 'tags', i],
        `tag "${tag}" is listed twice once variables are expanded`,
        'remove one of them, or give the variable another default',
      );
    }
    tags.push(tag);
  });

  const buildArgs: Record<string, string> = {};
  for (const [key, value] of Object.entries(spec.buildArgs ?? {})) {
    const written = writtenScalar(ctx.source, [...at, 'buildArgs', key], value, (d) => ctx.diagnostics.push(d));
    buildArgs[key] = ctx.interpolate([...at, 'buildArgs', key], written);
    ctx.checkBuildArgReads([...at, 'buildArgs', key], key, written);
  }
  checkSecretLookingBuildArgs(ctx, name, Object.keys(spec.buildArgs ?? {}));
  checkSecretFiles(ctx, [...at, 'secrets'], spec.secrets, scope.files);

  const platforms = spec.platforms
    ? resolvePlatformList(ctx, [...at, 'platforms'], spec.platforms)
    : scope.defaultPlatforms;

  const registries = spec.registries ?? scope.registryNames;
  (spec.registries ?? []).forEach((registry, i) => {
    if (!scope.registryNames.includes(registry)) {
      ctx.error(
        'unknown-registry',
        [...at, 'registries', i],
        `image "${name}" names registry "${registry}", which is not declared`,
        suggestion(registry, scope.registryNames, 'registries'),
      );
    }
  });

  const dependsOn: string[] = [];
  const dependencyReasons: Image['dependencyReasons'] = {};
  (spec.dependsOn ?? []).forEach((dependency, i) => {
    if (dependency === name) {
      ctx.error(
        'dependency-cycle',
        [...at, 'dependsOn', i],
        `image "${name}" depends on itself`,
        'remove it from its own dependsOn',
      );
    } else if (!scope.imageNames.has(dependency)) {
      ctx.error(
        'unknown-image',
        [...at, 'dependsOn', i],
        `image "${name}" depends on "${dependency}", which is not an image of this spec`,
        scope.imageNames.size > 1
          ? suggestion(dependency, scope.images, 'images', name)
          : `"${name}" is the only image in this spec: declare "${dependency}" under images, or remove it from dependsOn`,
      );
    } else {
      dependsOn.push(dependency);
      dependencyReasons[dependency] = 'dependsOn';
    }
  });

  if (spec.host !== undefined && !scope.hostNames.includes(spec.host)) {
    ctx.error(
      'unknown-host',
      [...at, 'host'],
      `image "${name}" names host "${spec.host}", which is not declared`,
      suggestion(spec.host, scope.hostNames, 'hosts'),
    );
  }
  const test = spec.test && resolveTest(ctx, [...at, 'test'], spec.test, platforms);
  const target = spec.target === undefined ? undefined : ctx.interpolate([...at, 'target'], spec.target);
  const timeoutMs =
    spec.timeout === undefined ? scope.defaultTimeoutMs : resolveTimeout(ctx, [...at, 'timeout'], spec.timeout);
  return {
    name,
    context,
    containerfile,
    repository,
    tags,
    buildArgs,
    ...(target !== undefined && { target }),
    platforms,
    strategy: spec.strategy ?? scope.spec.strategy ?? 'manifest-first',
    ...(spec.host !== undefined && scope.hostNames.includes(spec.host) && { host: spec.host }),
    registries: registries.filter((r) => scope.registryNames.includes(r)),
    dependsOn,
    dependencyReasons,
    dependencyReferences: {},
    pulls: [],
    pinnedOutside: [],
    secrets: mergeBuildSecrets(scope.spec.secrets, spec.secrets),
    ...(test && { test }),
    ...(timeoutMs !== undefined && { timeoutMs }),
  };
}

/** A `timeout:` in milliseconds (variables expanded); a bad one is reported at its place and counts as none. */
function resolveTimeout(ctx: ResolveContext, at: SpecPath, written: string): number | undefined {
  const { value, ok } = ctx.expand(at, written);
  if (!ok) return undefined;
  const parsed = parseTimeout(value);
  if (!parsed.ok) ctx.error('invalid-duration', at, parsed.message, parsed.hint);
  return parsed.ok ? parsed.ms : undefined;
}

/** Two images that would publish to the same repository of a registry overwrite each other's tags and lists. */
export function checkRepositories(
  ctx: ResolveContext,
  images: readonly Image[],
  registries: readonly Registry[],
): void {
  const owner = new Map<string, string>();
  for (const image of images) {
    for (const registry of registries) {
      if (!image.registries.includes(registry.name)) continue;
      const repository = `${registry.url}/${image.repository}`;
      const other = owner.get(repository);
      if (other === undefined) owner.set(repository, image.name);
      else if (other !== image.name) {
        ctx.error(
          'invalid-name',
          ['images', image.name],
          `images "${other}" and "${image.name}" both publish to ${repository}`,
          'give one of them another name or "repository:"',
          'key',
        );
      }
    }
  }
}

function locateContainerfile(
  ctx: ResolveContext,
  at: string[],
  context: string,
  spec: ImageSpec,
  files: SpecFiles,
): string {
  if (!files.isDirectory(context)) {
    ctx.error(
      'context-not-found',
      [...at, 'context'],
      `build context "${context}" is not a directory`,
      "context is relative to the spec file's directory",
    );
    return path.join(context, spec.containerfile ?? 'Containerfile');
  }
  if (spec.containerfile !== undefined) {
    const expanded = ctx.expand([...at, 'containerfile'], spec.containerfile);
    const file = normalise(path.join(context, expanded.value));
    if (expanded.ok && files.readText(file) === undefined) {
      if (files.exists(file))
        ctx.error(
          'containerfile-not-found',
          [...at, 'containerfile'],
          `containerfile "${file}" is not a readable regular file`,
          NOT_REGULAR_HINT,
        );
      else
        ctx.error(
          'containerfile-not-found',
          [...at, 'containerfile'],
          `containerfile "${file}" does not exist`,
          'containerfile is relative to the context directory',
        );
    }
    return file;
  }
  const candidates = ['Containerfile', 'Dockerfile'].map((candidate) => path.join(context, candidate));
  const found = candidates.find((file) => files.readText(file) !== undefined);
  if (found !== undefined) return found;
  const other = candidates.find((file) => files.exists(file));
  if (other !== undefined)
    ctx.error(
      'containerfile-not-found',
      [...at, 'context'],
      `"${other}" is not a readable regular file`,
      NOT_REGULAR_HINT,
    );
  else
    ctx.error(
      'containerfile-not-found',
      [...at, 'context'],
      `no Containerfile or Dockerfile in "${context}"`,
      'add one, or name it with "containerfile:"',
    );
  return path.join(context, 'Containerfile');
}

const NOT_REGULAR_HINT =
  'the containerfile must be a file (a symlink to one is followed, here and for build hosts, which are sent its content)';

/**
 * FIFOs, sockets and devices in a context, as the upload walks it (ignore files applied):
 * they are never sent to a build host (tar would block opening a FIFO). podman here copies
 * FIFOs and devices into the image (COPY . keeps them as they are), so an image would differ
 * by where it is built: an error. podman leaves sockets out itself: a warning.
 */
function checkContextFiles(
  ctx: ResolveContext,
  at: SpecPath,
  context: string,
  containerfile: string,
  files: SpecFiles,
): void {
  const special = files.specialFiles(context, containerfile);
  const ignoreFile = path.join(
    context,
    ['.containerignore', '.dockerignore'].find((name) => files.exists(path.join(context, name))) ?? '.containerignore',
  );
  const report = (severity: Severity, found: typeof special, effect: string): void => {
    if (found.length === 0) return;
    const one = found.length === 1;
    const named =
      found
        .slice(0, 5)
        .map((f) => `${path.join(context, f.path)} (${f.kind})`)
        .join(', ') + (found.length > 5 ? ` and ${found.length - 5} more` : '');
    const lines =
      found
        .slice(0, 3)
        .map((f) => `"${f.path}"`)
        .join(', ') + (found.length > 3 ? ', ...' : '');
    ctx.report(
      severity,
      'special-file',
      at,
      `build context "${context}" holds ${one ? 'a file that is' : `${found.length} files that are`} not a regular file, directory or symlink: ${named}; ${effect}`,
      `remove ${one ? 'it' : 'them'}, or leave ${one ? 'it' : 'them'} out of the context: add ${lines} to ${ignoreFile}`,
    );
  };
  report(
    'error',
    special.filter((f) => f.kind !== 'socket'),
    'such files are never sent to a build host, and podman here copies them into the image: the image would depend on where it is built',
  );
  report(
    'warning',
    special.filter((f) => f.kind === 'socket'),
    'sockets are left out, here and on build hosts (podman itself leaves them out of images)',
  );
}

function resolveTest(
  ctx: ResolveContext,
  at: string[],
  spec: NonNullable<ImageSpec['test']>,
  platforms: readonly string[],
): SmokeTest {
  const command = spec.command.map((word, i) => ctx.interpolate([...at, 'command', i], word));
  const expect: Record<string, string> = {};
  if (typeof spec.expect === 'string') {
    for (const platform of platforms) expect[platform] = spec.expect;
  } else if (spec.expect) {
    const given = spec.expect;
    for (const [platform, pattern] of Object.entries(given)) {
      if (!platforms.includes(platform)) {
        const unused = platforms.filter((p) => !(p in given));
        ctx.error(
          'invalid-platform',
          [...at, 'expect', platform],
          `expect names ${platform}, which this image is not built for`,
          unused.length > 0
            ? suggestion(platform, unused, 'platforms of this image without an expectation')
            : `this image is built for ${platforms.join(', ')}: remove ${platform} here, or add it to the image's platforms`,
          'key',
        );
      }
      expect[platform] = pattern;
    }
  }
  // Checked here with the engine the test runs with, so a pattern it cannot take fails the spec, not the build.
  const patterns =
    typeof spec.expect === 'string'
      ? [[[...at, 'expect'], spec.expect] as const]
      : Object.entries(spec.expect ?? {}).map(([platform, pattern]) => [[...at, 'expect', platform], pattern] as const);
  for (const [where, pattern] of patterns) {
    const problem = expectProblem(pattern);
    if (problem) ctx.error('invalid-value', where, problem.message, problem.hint);
  }
  return { command, expect };
}

function normalise(relative: string): string {
  const normalised = path.normalize(relative.replaceAll('\\', '/'));
  return normalised === '' ? '.' : normalised.replace(/\/$/, '');
}
