import { execFile } from 'node:child_process';
import { lstat, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  analyze,
  analyzeLayout,
  platformOfNodeArch,
  dockerNormalised,
  isContainerfileName,
  isSkippedDirectory,
  platformOf,
  platformsOfManifestList,
  writeInitSpec,
  type Diagnostic,
  type FoundContainerfile,
} from '@multiarch/core';
import { EXIT, reportDiagnostics, type Io } from '../io.js';
import { printable } from '../render/printable.js';

export interface InitOptions {
  force: boolean;
  platformsFromRegistry: boolean;
}

const SPEC_FILE = 'multiarch.yaml';
/** A Containerfile is text of a few kilobytes; anything larger is not one to read whole. */
const MAX_CONTAINERFILE_BYTES = 1024 * 1024;
const INSPECT_TIMEOUT_MS = 30_000;

/** Runs a command without a shell; its stdout, or undefined when it failed. Injected by tests. */
export type CommandOutput = (command: string, args: readonly string[]) => Promise<string | undefined>;

const runCommand: CommandOutput = (command, args) =>
  new Promise((resolve) => {
    execFile(command, args, { timeout: INSPECT_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (error, stdout) =>
      resolve(error ? undefined : stdout),
    );
  });

/**
 * `orchestrate init [DIR]`: writes DIR/multiarch.yaml from the Containerfiles below DIR,
 * never over one that is there without --force. Exit 0 written, 2 when it cannot be.
 */
export async function initCommand(
  io: Io,
  dir: string | undefined,
  options: InitOptions,
  output: CommandOutput = runCommand,
): Promise<number> {
  const root = path.resolve(io.cwd, dir ?? '.');
  const target = path.join(root, SPEC_FILE);
  const shown = printable(path.relative(io.cwd, target) || SPEC_FILE);
  const fail = (diagnostic: Omit<Diagnostic, 'severity'>): number => {
    reportDiagnostics(io, [{ severity: 'error', ...diagnostic }]);
    return EXIT.usage;
  };

  if (!(await stat(root).catch(() => undefined))?.isDirectory())
    return fail({
      code: 'context-not-found',
      message: `"${printable(dir ?? '.')}" is not a directory`,
      hint: 'name the folder that holds the Containerfiles',
    });
  if (!options.force && (await lstat(target).catch(() => undefined)) !== undefined)
    return fail({
      code: 'spec-exists',
      file: shown,
      range: { start: { line: 1, col: 1 }, end: { line: 1, col: 1 } },
      message: `${shown} is there already; init does not overwrite it`,
      hint: 'run `orchestrate validate` to check it, or `orchestrate init --force` to replace it',
    });

  const found = await findContainerfiles(root);
  if (found.length === 0)
    return fail({
      code: 'no-containerfiles',
      message: `no Containerfile or Dockerfile below "${printable(dir ?? '.')}"`,
      hint: 'init writes one image per Containerfile, Dockerfile, Dockerfile.* or *.Dockerfile it finds (node_modules, vendor and hidden folders are skipped)',
    });

  const layout = analyzeLayout(found, path.basename(root));
  const bases = [...new Set(layout.images.flatMap((i) => i.bases))].filter((b) => !b.includes('$'));
  const basePlatforms = new Map<string, string[]>();
  for (const base of bases) {
    const local = base.startsWith('localhost/');
    if (!local && !options.platformsFromRegistry) continue;
    const platforms = local ? await localPlatforms(base, output) : await registryPlatforms(base, output);
    if (platforms !== undefined && platforms.length > 0) basePlatforms.set(base, platforms);
    else io.stderr(`note: no platforms known for ${printable(base)} (${local ? 'podman' : 'skopeo'} could not tell)\n`);
  }

  const spec = writeInitSpec(layout, { basePlatforms });
  try {
    await writeFile(target, spec.text, { flag: options.force ? 'w' : 'wx' });
  } catch (error) {
    return fail({
      code: 'file-unwritable',
      file: shown,
      message: `cannot write ${shown}: ${(error as Error).message}`,
      hint: 'check that the folder is writable',
    });
  }
  for (const note of spec.notes) io.stderr(`note: ${printable(note)}\n`);
  // What init wrote must plan as written; when the Containerfiles themselves make that
  // impossible (two that build FROM each other), say so: the file stays, to be edited.
  const checked = await analyze({
    cwd: root,
    configFile: SPEC_FILE,
    configFormats: ['yaml'],
    env: {},
    localPlatform: platformOfNodeArch(process.arch),
    localJobs: 1,
  });
  if (!checked.ok) {
    io.stderr(`wrote ${shown}, but it does not plan as written:\n`);
    reportDiagnostics(io, checked.diagnostics);
    return EXIT.usage;
  }
  const count = layout.images.length;
  io.stdout(
    `wrote ${shown}: ${count} image${count === 1 ? '' : 's'}${layout.registryUrls.length > 0 ? `, published to ${layout.registryUrls.join(', ')}` : ', no registry yet'}\n` +
      'next: fill in what its comments ask, then `orchestrate plan`\n',
  );
  return EXIT.ok;
}

/** Every Containerfile below root, skipping other people's and tools' folders; symlinked folders are not followed. */
async function findContainerfiles(root: string): Promise<FoundContainerfile[]> {
  const found: FoundContainerfile[] = [];
  const walk = async (relative: string): Promise<void> => {
    const entries = await readdir(path.join(root, relative), { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const child = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!isSkippedDirectory(entry.name)) await walk(child);
      } else if (entry.isFile() && isContainerfileName(entry.name)) {
        const file = path.join(root, child);
        // One that cannot be read (no permission, removed meanwhile) is left out, not a crash.
        const text = await stat(file)
          .then((info) => (info.size <= MAX_CONTAINERFILE_BYTES ? readFile(file, 'utf8') : undefined))
          .catch(() => undefined);
        if (text !== undefined) found.push({ path: child, text });
      }
    }
  };
  await walk('');
  return found;
}

/** A localhost/ base lives in podman's storage: a list's platforms, or a single image's own. */
async function localPlatforms(reference: string, output: CommandOutput): Promise<string[] | undefined> {
  const list = await output('podman', ['manifest', 'inspect', '--', reference]);
  const platforms = list === undefined ? undefined : platformsOfManifestList(list);
  if (platforms !== undefined) return platforms;
  return singleImagePlatform(await output('podman', ['image', 'inspect', '--', reference]));
}

/** Asked for with --platforms-from-registry only: this talks to the registry the name points at. */
async function registryPlatforms(reference: string, output: CommandOutput): Promise<string[] | undefined> {
  const qualified = dockerNormalised(reference);
  // containers/image takes a tag or a digest, not both: the digest is what the author pinned.
  const at = qualified.indexOf('@');
  const pinned = at < 0 ? qualified : qualified.slice(0, at).replace(/:[^/:]+$/, '') + qualified.slice(at);
  const transport = `docker://${pinned}`;
  const raw = await output('skopeo', ['inspect', '--raw', '--', transport]);
  const platforms = raw === undefined ? undefined : platformsOfManifestList(raw);
  if (platforms !== undefined || raw === undefined) return platforms;
  return singleImagePlatform(await output('skopeo', ['inspect', '--', transport]));
}

/** `podman image inspect` (an array) or `skopeo inspect` (an object): the one platform it is for. */
function singleImagePlatform(json: string | undefined): string[] | undefined {
  if (json === undefined) return undefined;
  try {
    const parsed = JSON.parse(json) as unknown;
    const image = (Array.isArray(parsed) ? parsed[0] : parsed) as
      { Os?: unknown; Architecture?: unknown; Variant?: unknown } | undefined;
    const platform = platformOf(image?.Os, image?.Architecture, image?.Variant);
    return platform === undefined ? undefined : [platform];
  } catch {
    return undefined;
  }
}
