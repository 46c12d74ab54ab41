import path from 'node:path/posix';
import { hasErrors, type Diagnostic, type Result } from '../diagnostics.js';
import type { SpecSource } from '../config/source.js';
import { ResolveContext, writtenScalar, type SpecFiles } from './context.js';
import { findCycles } from './graph.js';
import { checkRepositories, resolveImages } from './images.js';
import { inferDependencies } from './dependencies.js';
import { resolveHosts, resolveRegistries } from './infrastructure.js';
import { placePlatform } from './placement.js';
import { canEmulate, checkPlatform, samePlatformFamily } from './platform.js';
import type { SpecDocument } from './spec.js';
import type { Host, Image, Model } from './types.js';
import { describeOverLimit, expansionBudget, resolveVariables } from './variables.js';

export interface ResolveOptions {
  /** The environment `${VAR}` reads first. Passed in: resolution never reads process.env. */
  env: Readonly<Record<string, string | undefined>>;
  /** The platform this machine builds natively, e.g. linux/amd64. */
  localPlatform: string;
  /** Default concurrency cap of the local host when the spec sets none. */
  localJobs: number;
  files: SpecFiles;
}

/** Spec (already schema-valid) to model: defaults, variables, names, hosts and dependencies settled. */
export function resolveModel(source: SpecSource, options: ResolveOptions): Result<Model> {
  const spec = source.data as SpecDocument;
  const early: Diagnostic[] = [];
  const declared = Object.fromEntries(
    Object.entries(spec.variables ?? {}).map(([k, v]) => [
      k,
      writtenScalar(source, ['variables', k], v, (d) => early.push(d)),
    ]),
  );
  const budget = expansionBudget();
  const variables = resolveVariables(declared, options.env, budget);
  // Registries' passwords and build secrets from the environment: never written into an argument.
  const secretNames = new Set([
    ...Object.values(spec.registries ?? {}).flatMap((r) =>
      r.auth?.passwordEnv === undefined ? [] : [r.auth.passwordEnv],
    ),
    ...[spec.secrets, ...Object.values(spec.images).map((i) => i.secrets)].flatMap((secrets) =>
      Object.values(secrets ?? {}).flatMap((s) => ('env' in s ? [s.env] : [])),
    ),
  ]);
  const unusable = new Set(variables.problems.flatMap((problem) => problem.unusable));
  const ctx = new ResolveContext(
    source,
    (name) => options.env[name] ?? variables.values.get(name),
    secretNames,
    unusable,
    variables.reads,
    new Set(Object.keys(declared)),
    budget,
  );
  ctx.diagnostics.push(...early);

  for (const problem of variables.problems) {
    if (problem.kind === 'cycle') {
      ctx.error(
        'variable-cycle',
        ['variables', problem.name],
        `variables refer to each other in a cycle: ${problem.detail}`,
        'give one of them a value that does not refer back',
      );
    } else if (problem.kind !== 'undefined') {
      const { code, message, hint } = describeOverLimit(problem.kind);
      ctx.push('error', code, source.locateWithin(['variables', problem.name], problem.detail), message, hint);
    } else {
      ctx.push(
        'error',
        'undefined-variable',
        source.locateWithin(['variables', problem.name], problem.detail),
        `variable ${problem.detail} used by "${problem.name}" is not defined`,
        'set it in the environment or give a default: ${NAME:-value}',
      );
    }
  }
  for (const name of Object.keys(declared)) {
    if (secretNames.has(name)) {
      ctx.error(
        'inline-secret',
        ['variables', name],
        `variable "${name}" is also a registry's passwordEnv: its value is a secret written in the file`,
        'set the secret in the environment only',
        'key',
      );
    }
  }

  const registries = resolveRegistries(ctx, spec, options.files);
  const hosts = resolveHosts(ctx, spec, options.localPlatform, options.localJobs);
  const images = resolveImages(ctx, spec, registries, options.files);
  checkRepositories(ctx, images, registries);
  inferDependencies(ctx, images, registries, options.files, path.dirname(source.file.replaceAll('\\', '/')));
  checkCycles(ctx, images);
  checkBuildable(ctx, spec, images, hosts);

  const diagnostics = ctx.diagnostics;
  if (hasErrors(diagnostics)) return { ok: false, diagnostics };
  return {
    ok: true,
    value: { file: source.file, localPlatform: options.localPlatform, registries, hosts, images },
    diagnostics,
  };
}

function checkCycles(ctx: ResolveContext, images: readonly Image[]): void {
  const byName = new Map(images.map((image) => [image.name, image]));
  const cycles = findCycles(
    images.map((image) => image.name),
    (name) => byName.get(name)?.dependsOn ?? [],
  );
  for (const cycle of cycles) {
    const [first, second] = cycle as [string, string];
    const image = byName.get(first)!;
    const explicit = (ctx.source.data as SpecDocument).images[first]?.dependsOn?.indexOf(second) ?? -1;
    const via = image.dependencyReasons[second];
    ctx.error(
      'dependency-cycle',
      explicit >= 0 ? ['images', first, 'dependsOn', explicit] : ['images', first],
      `images depend on each other in a cycle: ${cycle.join(' -> ')}`,
      `break the cycle: "${first}" depends on "${second}" through ${via === 'dependsOn' ? 'dependsOn' : `a ${via} line in ${image.containerfile}`}`,
      explicit >= 0 ? 'value' : 'key',
    );
  }
}

/** Every platform of every image needs a place to be built (see placePlatform). */
function checkBuildable(
  ctx: ResolveContext,
  spec: SpecDocument,
  images: readonly Image[],
  hosts: readonly Host[],
): void {
  for (const image of images) {
    for (const platform of image.platforms) {
      if (placePlatform(hosts, image, platform)) continue;
      const remote = hosts.find((h) => h.kind === 'ssh' && h.platforms.some((p) => samePlatformFamily(p, platform)));
      const hint =
        image.host !== undefined
          ? `image "${image.name}" is built on host "${image.host}", which cannot build ${platform}: remove "host", or pick one that can`
          : remote && image.strategy === 'manifest-first'
            ? `host "${remote.name}" builds it natively: set "strategy: per-arch" on image "${image.name}"`
            : !canEmulate(platform)
              ? `QEMU cannot emulate ${platform}: declare a host that builds it natively (hosts.NAME.platforms)`
              : 'declare a host that builds it natively, or allow emulation (hosts.local.emulate: true)';
      const { path, part } = writtenPlatformPath(spec, image.name, platform);
      ctx.error('unbuildable-platform', path, `no host can build ${platform} for image "${image.name}"`, hint, part);
    }
  }
}

/** Where a platform of an image is written: in its own list or the top-level one (an alias such as linux/aarch64 included). */
function writtenPlatformPath(
  spec: SpecDocument,
  image: string,
  platform: string,
): { path: (string | number)[]; part: 'key' | 'value' } {
  const own = spec.images[image]?.platforms;
  const index = (own ?? spec.platforms ?? []).findIndex((written) => {
    const check = checkPlatform(written);
    return check.ok && check.platform === platform;
  });
  if (own) return { path: ['images', image, 'platforms', index], part: 'value' };
  // From the built-in default: the image itself is the place.
  return spec.platforms ? { path: ['platforms', index], part: 'value' } : { path: ['images', image], part: 'key' };
}
