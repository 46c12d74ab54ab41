/**
 * Two things a spec writes to repeat itself less, applied to the data before it is resolved:
 * `x-` keys, ignored anywhere (a home for YAML anchors), and `defaults:`, merged into every
 * image. Merge rules: mappings (buildArgs, secrets) merge key by key, the image's entry
 * winning; every other key (lists such as tags or platforms, scalars, test) is replaced
 * whole by the image's own. A value that came from `defaults:` is located there, so its
 * diagnostics point at the line that wrote it. Pure.
 */
import type { SpecPath, SpecSource } from '../config/source.js';

/** Keys whose value is a mapping merged entry by entry. */
const MERGED = new Set(['buildArgs', 'secrets']);

const isMapping = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * `data` without its `x-` keys: at the top, in `defaults:`, and in each image, registry,
 * host and image test. Not in the maps keyed by names the user chose (images, registries,
 * hosts, secrets, variables, buildArgs): there `x-prod` is a name, not an extension.
 */
export function withoutExtensionKeys(data: unknown): unknown {
  const strip = (value: unknown): unknown =>
    isMapping(value) ? Object.fromEntries(Object.entries(value).filter(([key]) => !key.startsWith('x-'))) : value;
  const eachStripped = (map: unknown): unknown =>
    isMapping(map) ? Object.fromEntries(Object.entries(map).map(([name, value]) => [name, strip(value)])) : map;
  const top = strip(data);
  if (!isMapping(top)) return top;
  const images = eachStripped(top['images']);
  if (isMapping(images))
    for (const [name, image] of Object.entries(images))
      if (isMapping(image) && 'test' in image) images[name] = { ...image, test: strip(image['test']) };
  return {
    ...top,
    ...('images' in top && { images }),
    ...('registries' in top && { registries: eachStripped(top['registries']) }),
    ...('hosts' in top && { hosts: eachStripped(top['hosts']) }),
    ...('defaults' in top && { defaults: strip(top['defaults']) }),
  };
}

/** The source with `defaults:` merged into each image, and locations of merged values mapped back to where they are written. */
export function applyImageDefaults(source: SpecSource): SpecSource {
  const data = source.data as Record<string, unknown>;
  const defaults = data['defaults'];
  const images = data['images'];
  if (!isMapping(defaults) || !isMapping(images)) return source;
  const merged: Record<string, unknown> = {};
  for (const [name, image] of Object.entries(images)) {
    if (!isMapping(image)) {
      merged[name] = image;
      continue;
    }
    const out: Record<string, unknown> = { ...defaults };
    for (const [key, value] of Object.entries(image)) {
      const base = defaults[key];
      out[key] = MERGED.has(key) && isMapping(base) && isMapping(value) ? { ...base, ...value } : value;
    }
    merged[name] = out;
  }
  const own = (path: SpecPath): boolean => {
    let at: unknown = data;
    for (const segment of path) {
      if (!isMapping(at) && !Array.isArray(at)) return false;
      at = (at as Record<string | number, unknown>)[segment];
      if (at === undefined) return false;
    }
    return true;
  };
  // images.NAME.KEY... that the image does not write itself: written under defaults.KEY...
  const where = (path: SpecPath): SpecPath =>
    path[0] === 'images' && path.length >= 3 && !own(path) ? ['defaults', ...path.slice(2)] : path;
  return {
    file: source.file,
    text: source.text,
    data: { ...data, images: merged },
    locate: (path, part) => source.locate(where(path), part),
    locateWithin: (path, needle) => source.locateWithin(where(path), needle),
    written: (path) => source.written(where(path)),
  };
}
