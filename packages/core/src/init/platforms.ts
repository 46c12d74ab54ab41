import { canEmulate, checkPlatform } from '../model/platform.js';
import { DEFAULT_PLATFORMS } from '../model/images.js';
import type { Layout } from './layout.js';

/**
 * The platforms a manifest list (OCI index or Docker manifest list, as `skopeo inspect --raw`
 * or `podman manifest inspect` print it) holds: Linux ones QEMU can build, in the list's
 * order; attestation entries (unknown/unknown) and linux/arm64/v8's variant left out.
 * undefined when the text is not a list (one image: its platform needs its config).
 */
export function platformsOfManifestList(text: string): string[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const manifests = (parsed as { manifests?: unknown } | null)?.manifests;
  if (!Array.isArray(manifests)) return undefined;
  const platforms: string[] = [];
  for (const entry of manifests as { platform?: { os?: unknown; architecture?: unknown; variant?: unknown } }[]) {
    const platform = platformOf(entry.platform?.os, entry.platform?.architecture, entry.platform?.variant);
    if (platform !== undefined && !platforms.includes(platform)) platforms.push(platform);
  }
  return platforms;
}

/** os/arch/variant as podman's --platform takes it, or undefined for what init does not build. */
export function platformOf(os: unknown, architecture: unknown, variant: unknown): string | undefined {
  if (typeof os !== 'string' || typeof architecture !== 'string') return undefined;
  const keepVariant = typeof variant === 'string' && variant !== '' && !(architecture === 'arm64' && variant === 'v8');
  const check = checkPlatform([os, architecture, ...(keepVariant ? [variant] : [])].join('/'));
  return check.ok && canEmulate(check.platform) ? check.platform : undefined;
}

export interface LayoutPlatforms {
  /** The spec's top-level platforms: what most images get. */
  common: string[];
  /** Images that differ from `common`. */
  own: Map<string, string[]>;
  /** Whether any base image's list told anything (else `common` is the default). */
  fromBases: boolean;
  notes: string[];
}

/**
 * Each image's platforms: those every base it names can give (its outside bases' lists
 * that were found, and its images' own platforms), else the default. A base found in no
 * list says nothing, so it does not narrow.
 */
export function layoutPlatforms(
  layout: Layout,
  basePlatforms: ReadonlyMap<string, readonly string[]>,
): LayoutPlatforms {
  const resolved = new Map<string, string[] | undefined>();
  const notes: string[] = [];
  const byName = new Map(layout.images.map((i) => [i.name, i]));
  // Layout images come bases first, so each image's dependencies are resolved before it.
  for (const image of layout.images) {
    let platforms: string[] | undefined;
    const narrow = (given: readonly string[] | undefined) => {
      if (given !== undefined)
        platforms = platforms === undefined ? [...given] : platforms.filter((p) => given.includes(p));
    };
    for (const base of image.bases) narrow(basePlatforms.get(base));
    for (const dependency of image.dependsOn) if (byName.has(dependency)) narrow(resolved.get(dependency));
    if (platforms?.length === 0) {
      notes.push(`the bases of ${image.name} share no platform: it gets the default, ${DEFAULT_PLATFORMS.join(', ')}`);
      platforms = undefined;
    }
    resolved.set(image.name, platforms);
  }
  const fromBases = [...resolved.values()].some((p) => p !== undefined);
  const counts = new Map<string, { platforms: string[]; count: number }>();
  for (const platforms of resolved.values()) {
    const list = platforms ?? DEFAULT_PLATFORMS;
    const key = list.join(',');
    const entry = counts.get(key) ?? { platforms: list, count: 0 };
    entry.count++;
    counts.set(key, entry);
  }
  let common = DEFAULT_PLATFORMS;
  let best = 0;
  for (const { platforms, count } of counts.values()) {
    if (count > best) {
      common = platforms;
      best = count;
    }
  }
  const own = new Map<string, string[]>();
  for (const [name, platforms] of resolved) {
    const list = platforms ?? DEFAULT_PLATFORMS;
    if (list.join(',') !== common.join(',')) own.set(name, list);
  }
  return { common: [...common], own, fromBases, notes };
}
