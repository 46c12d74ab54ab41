import type { Diagnostic, Result } from '../diagnostics.js';
import type { Image, Model } from '../model/types.js';
import { checkPlatform } from '../model/platform.js';
import { reachableFrom } from '../model/graph.js';
import { suggestion } from '../util/suggest.js';

export interface Selection {
  /** Selected images, dependencies first (spec order among equals), platforms narrowed by the filter. */
  images: Image[];
  /** Images whose platforms the filter narrowed: they must not publish a partial list. */
  narrowed: Set<string>;
  notes: string[];
}

/** `--image` pulls in what each named image depends on; `--platform` narrows every image's platforms. */
export function selectImages(
  model: Model,
  imageFilter: readonly string[],
  platformFilter: readonly string[],
): Result<Selection> {
  const diagnostics: Diagnostic[] = [];
  const byName = new Map(model.images.map((image) => [image.name, image]));
  const names = model.images.map((image) => image.name);

  let selected = new Set(names);
  if (imageFilter.length > 0) {
    const named: string[] = [];
    for (const name of imageFilter) {
      if (name === '') diagnostics.push(emptyFilter('--image', 'name an image of the spec'));
      else if (byName.has(name)) named.push(name);
      else
        diagnostics.push({
          severity: 'error',
          code: 'filter-no-match',
          message: `--image ${name}: no such image in ${model.file}`,
          hint: suggestion(name, names, 'images'),
        });
    }
    selected = reachableFrom(named, (name) => byName.get(name)?.dependsOn ?? []);
  }

  const platforms: string[] = [];
  for (const written of platformFilter) {
    const check = checkPlatform(written);
    if (written.trim() === '') diagnostics.push(emptyFilter('--platform', 'name a platform, e.g. linux/arm64'));
    else if (check.ok) platforms.push(check.platform);
    else
      diagnostics.push({
        severity: 'error',
        code: 'invalid-platform',
        message: `--platform ${written}: ${check.reason}`,
        hint: check.hint,
      });
  }

  const narrowed = new Set<string>();
  const notes: string[] = [];
  const kept = new Map<string, Image>();
  for (const image of model.images) {
    if (!selected.has(image.name)) continue;
    if (platforms.length === 0) {
      kept.set(image.name, image);
      continue;
    }
    const remaining = image.platforms.filter((p) => platforms.includes(p));
    if (remaining.length === 0) {
      if (imageFilter.includes(image.name)) {
        diagnostics.push({
          severity: 'error',
          code: 'filter-no-match',
          message: `--image ${image.name} is not built for ${platforms.join(', ')}`,
          hint: `its platforms: ${image.platforms.join(', ')}`,
        });
      }
      continue;
    }
    if (remaining.length < image.platforms.length) {
      narrowed.add(image.name);
      notes.push(
        `--platform narrows ${image.name} to ${remaining.join(', ')}: its tags are not published, since a partial list would replace the full one`,
      );
    }
    kept.set(image.name, { ...image, platforms: remaining });
  }
  for (const platform of platforms) {
    if (![...kept.values()].some((image) => image.platforms.includes(platform))) {
      const known = [...new Set(model.images.filter((i) => selected.has(i.name)).flatMap((i) => i.platforms))];
      diagnostics.push({
        severity: 'error',
        code: 'filter-no-match',
        message: `--platform ${platform}: no selected image is built for it`,
        hint: suggestion(platform, known, 'platforms'),
      });
    }
  }
  for (const image of kept.values()) {
    for (const dependency of image.dependsOn) {
      if (!kept.has(dependency)) {
        diagnostics.push({
          severity: 'error',
          code: 'filter-drops-dependency',
          message: `${image.name} depends on ${dependency}, which --platform ${platforms.join(',')} leaves out`,
          hint: `${dependency} is built for ${byName.get(dependency)?.platforms.join(', ')}; choose a platform both have`,
        });
      }
    }
  }
  if (diagnostics.some((d) => d.severity === 'error')) return { ok: false, diagnostics };
  return { ok: true, value: { images: dependencyOrder([...kept.values()]), narrowed, notes }, diagnostics };
}

/** An empty filter is refused, never dropped: dropped, it would select everything (and publish). */
function emptyFilter(option: string, what: string): Diagnostic {
  return {
    severity: 'error',
    code: option === '--image' ? 'filter-no-match' : 'invalid-platform',
    message: `${option} is empty`,
    hint: `${what}, or leave ${option} out`,
  };
}

/** Dependencies first; among images that are ready at the same time, spec order. Assumes no cycles (resolve checked). */
export function dependencyOrder(images: readonly Image[]): Image[] {
  const index = new Map(images.map((image, i) => [image.name, i]));
  const waiting = new Map(images.map((image) => [image.name, image.dependsOn.filter((d) => index.has(d)).length]));
  const dependents = new Map<string, string[]>();
  for (const image of images) {
    for (const dependency of image.dependsOn) {
      if (index.has(dependency)) dependents.set(dependency, [...(dependents.get(dependency) ?? []), image.name]);
    }
  }
  const ready = images.filter((image) => waiting.get(image.name) === 0).map((image) => index.get(image.name)!);
  const ordered: Image[] = [];
  // `ready` stays sorted by spec index: binary insertion keeps this linear-ish for thousands of images.
  const insert = (value: number): void => {
    let low = 0;
    let high = ready.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (ready[mid]! < value) low = mid + 1;
      else high = mid;
    }
    ready.splice(low, 0, value);
  };
  while (ready.length > 0) {
    const next = images[ready.shift()!]!;
    ordered.push(next);
    for (const dependent of dependents.get(next.name) ?? []) {
      const left = waiting.get(dependent)! - 1;
      waiting.set(dependent, left);
      if (left === 0) insert(index.get(dependent)!);
    }
  }
  return ordered;
}
