import { Document, isMap, isScalar, type Pair, type YAMLMap } from 'yaml';
import type { Layout } from './layout.js';
import { layoutPlatforms } from './platforms.js';

/** The schema's $id: where editors fetch it from in a project that does not hold this repository. */
export const SCHEMA_URL = 'https://multiarch.dev/schemas/multiarch.schema.json';

export interface InitSpecOptions {
  /** Platforms of outside base images, by reference as the FROM line gives it (ARG defaults applied). */
  basePlatforms?: ReadonlyMap<string, readonly string[]>;
}

export interface InitSpec {
  text: string;
  /** What the user should know and the comments say too: FROMs that stay external, platforms defaulted. */
  notes: string[];
}

/**
 * multiarch.yaml for a layout: the schema modeline, one image per Containerfile with no
 * dependsOn (the planner reads the FROM lines), registries at the paths those lines name,
 * and comments that say what to fill in.
 */
export function writeInitSpec(layout: Layout, options: InitSpecOptions = {}): InitSpec {
  const platforms = layoutPlatforms(layout, options.basePlatforms ?? new Map());
  const registries = registryEntries(layout.registryUrls);
  const doc = new Document({
    version: 1,
    variables: { TAG: '${GIT_SHA:-dev}' },
    platforms: platforms.common,
    ...(registries.length > 0 && {
      registries: Object.fromEntries(
        registries.map((r) => [
          r.name,
          { url: r.url, auth: { username: `\${${r.variable}_USER:-${r.owner}}`, passwordEnv: `${r.variable}_TOKEN` } },
        ]),
      ),
    }),
    images: Object.fromEntries(
      layout.images.map((image) => [
        image.name,
        {
          context: image.context,
          ...(image.containerfile !== undefined && { containerfile: image.containerfile }),
          ...(platforms.own.has(image.name) && { platforms: platforms.own.get(image.name) }),
          // The tags its siblings' FROM lines use: a tag the spec does not publish would name an outside image.
          tags: ['${TAG}', 'latest', ...image.tags.filter((tag) => tag !== 'latest')],
        },
      ]),
    ),
  });
  const notes = [...layout.notes, ...platforms.notes];
  const count = layout.images.length;
  doc.commentBefore = [
    ` yaml-language-server: $schema=${SCHEMA_URL}`,
    ` Written by \`orchestrate init\` from ${count} Containerfile${count === 1 ? '' : 's'}; check it, then`,
    ' `orchestrate plan` shows every command `orchestrate build` would run.',
    ...notes.map((note) => ` Note: ${note}.`),
  ].join('\n');

  const top = doc.contents as YAMLMap;
  commentKey(
    top,
    'variables',
    ' ${NAME:-default}; the environment wins. CI sets GIT_SHA, e.g. $(git rev-parse --short HEAD).',
  );
  commentKey(
    top,
    'platforms',
    platforms.fromBases
      ? " What every image is built for unless it lists its own: what its base images' lists hold."
      : " What every image is built for unless it lists its own (`orchestrate init --platforms-from-registry`\n reads them from the base images' lists).",
  );
  flow(top, 'platforms');
  if (registries.length > 0) {
    commentKey(
      top,
      'registries',
      " Where the FROM lines find this repository's own images, so each is built after the one it names\n" +
        " and uses this run's build of it. Fill in the user; the token is read from the environment\n" +
        ' variable named by passwordEnv, never written here (or use `auth: { authfile: PATH }`).',
    );
    const map = top.get('registries', true);
    if (isMap(map)) for (const item of map.items) if (isMap(item.value)) flow(item.value, 'auth');
  } else {
    commentKey(
      top,
      'images',
      ' No FROM line names another image of this repository through a registry. To publish, add one:\n' +
        ' registries:\n   main:\n     url: ghcr.io/OWNER        # fully qualified: host, then namespace\n' +
        '     auth: { username: OWNER, passwordEnv: REGISTRY_TOKEN }   # the token stays in the environment',
    );
  }
  const images = top.get('images', true);
  for (const pair of isMap(images) ? images.items : []) {
    const image = layout.images.find((i) => isScalar(pair.key) && i.name === pair.key.value);
    if (image === undefined || !isMap(pair.value)) continue;
    flow(pair.value, 'tags');
    flow(pair.value, 'platforms');
    if (image.dependsOn.length > 0)
      keyOf(pair).commentBefore = ` built after ${image.dependsOn.join(', ')} (its FROM lines name it)`;
  }
  return { text: doc.toString({ lineWidth: 0, flowCollectionPadding: false }), notes };
}

interface RegistryEntry {
  name: string;
  url: string;
  /** Upper-case stem of the variables that hold the user and the token: QUAY, DOCKERHUB. */
  variable: string;
  /** The namespace, a first guess at the user. */
  owner: string;
}

function registryEntries(urls: readonly string[]): RegistryEntry[] {
  const entries: RegistryEntry[] = [];
  for (const url of urls) {
    const [host = '', owner = ''] = url.split('/');
    const stem = host === 'docker.io' ? 'dockerhub' : (host.split(/[.:]/)[0] ?? 'registry');
    let name = stem.replace(/[^a-z0-9_-]/g, '-') || 'registry';
    for (let n = 2; entries.some((e) => e.name === name); n++) name = `${stem}-${n}`;
    entries.push({ name, url, variable: name.toUpperCase().replace(/[^A-Z0-9]/g, '_'), owner });
  }
  return entries;
}

function keyOf(pair: Pair): { commentBefore?: string | null } {
  return pair.key as { commentBefore?: string | null };
}

function commentKey(map: YAMLMap, key: string, comment: string): void {
  const pair = map.items.find((p) => isScalar(p.key) && p.key.value === key);
  if (pair) keyOf(pair).commentBefore = comment;
}

function flow(map: YAMLMap, key: string): void {
  const node = map.get(key, true) as { flow?: boolean } | undefined;
  if (node) node.flow = true;
}
