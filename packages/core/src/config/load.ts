import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Diagnostic, Result } from '../diagnostics.js';
import { MAX_SPEC_BYTES, parseYamlSpec, plainSource, type SpecSource } from './source.js';

export const MODULE_NAME = 'multiarch';

/** Where `orchestrate` looks, in order, in each directory from the working directory upward. */
export const SEARCH_PLACES = [
  'multiarch.yaml',
  'multiarch.yml',
  '.multiarch.yaml',
  '.multiarch.yml',
  '.multiarchrc',
  '.multiarchrc.yaml',
  '.multiarchrc.yml',
  '.multiarchrc.json',
  'multiarch.config.yaml',
  'multiarch.config.yml',
  'multiarch.config.json',
  'multiarch.config.js',
  'multiarch.config.mjs',
  'multiarch.config.cjs',
  'package.json',
];

export interface LoadOptions {
  /** Directory to search from. */
  readonly cwd: string;
  /** A file named on the command line (`--config`); no search then. */
  readonly configFile?: string | undefined;
}

const TEXT_EXTENSIONS = new Set(['.yaml', '.yml', '.json', '']);

/**
 * Finds and parses the spec. cosmiconfig does the finding; YAML and JSON files are
 * parsed here, from their text, so every later diagnostic can point at a line.
 */
export async function loadSpec(options: LoadOptions): Promise<Result<SpecSource>> {
  let filepath: string;
  if (options.configFile !== undefined) {
    filepath = path.resolve(options.cwd, options.configFile);
  } else {
    const found = await searchSpec(options.cwd);
    if (!found) {
      return fail({
        severity: 'error',
        code: 'config-not-found',
        message: `no multiarch spec found in ${options.cwd} or any directory above it`,
        hint: `create multiarch.yaml (see examples/hello), or name one with --config FILE; looked for ${SEARCH_PLACES.slice(0, 4).join(', ')}, package.json#multiarch and others`,
      });
    }
    if (typeof found !== 'string') return fail(found);
    filepath = found;
  }
  const display = displayPath(options.cwd, filepath);

  let size: number;
  try {
    const info = await stat(filepath);
    if (info.isDirectory()) {
      return fail({
        severity: 'error',
        code: 'file-unreadable',
        message: `${display} is a directory`,
        file: display,
        hint: 'name the spec file itself, e.g. --config dir/multiarch.yaml',
      });
    }
    size = info.size;
  } catch {
    return fail({
      severity: 'error',
      code: 'config-not-found',
      message: `spec file ${display} does not exist`,
      file: display,
      hint: 'check the path given to --config',
    });
  }
  if (size > MAX_SPEC_BYTES) {
    return fail({
      severity: 'error',
      code: 'file-too-large',
      message: `${display} is ${size} bytes; a spec may be at most ${MAX_SPEC_BYTES} bytes`,
      file: display,
      hint: 'split the monorepo into several specs, or check that this is the right file',
    });
  }

  const extension = path.extname(filepath);
  if (!TEXT_EXTENSIONS.has(extension)) return loadScriptSpec(filepath, display);

  let text: string;
  try {
    text = await readFile(filepath, 'utf8');
  } catch (error) {
    return unreadable(display, 'read', error);
  }
  const isPackageJson = path.basename(filepath) === 'package.json';
  return parseYamlSpec(display, text, isPackageJson ? { root: [MODULE_NAME] } : {});
}

/** The spec's path, undefined when there is none, or a diagnostic when a file on the way cannot be read. */
async function searchSpec(cwd: string): Promise<string | Diagnostic | undefined> {
  // cosmiconfig is imported only when a search is needed: `--config` skips its start-up cost.
  const { cosmiconfig } = await import('cosmiconfig');
  // Text formats are not parsed by cosmiconfig: only whether the file holds a spec matters here.
  const present = (_file: string, content: string) => (content.trim() === '' ? null : { present: true });
  const explorer = cosmiconfig(MODULE_NAME, {
    searchPlaces: SEARCH_PLACES,
    searchStrategy: 'global',
    cache: false,
    loaders: {
      '.yaml': present,
      '.yml': present,
      noExt: present,
      '.json': (file, content) =>
        path.basename(file) === 'package.json' ? (JSON.parse(content) as unknown) : present(file, content),
    },
  });
  try {
    return (await explorer.search(cwd))?.filepath;
  } catch (error) {
    // cosmiconfig reads every package.json on the way up: a broken one stops the search.
    const file = (error as { filepath?: string }).filepath;
    return {
      severity: 'error',
      code: 'file-unreadable',
      message: `cannot read ${file ?? 'a file'} while looking for the spec: ${firstLine((error as Error).message)}`,
      ...(file !== undefined && { file: displayPath(cwd, file) }),
      hint: 'fix that file, or name the spec with --config FILE',
    };
  }
}

async function loadScriptSpec(filepath: string, display: string): Promise<Result<SpecSource>> {
  const { cosmiconfig } = await import('cosmiconfig');
  try {
    const result = await cosmiconfig(MODULE_NAME, { cache: false }).load(filepath);
    return { ok: true, value: plainSource(display, result?.config), diagnostics: [] };
  } catch (error) {
    return unreadable(display, 'load', error);
  }
}

function displayPath(cwd: string, filepath: string): string {
  const relative = path.relative(cwd, filepath);
  return relative === '' || relative.startsWith('..') || path.isAbsolute(relative) ? filepath : relative;
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

function fail(diagnostic: Diagnostic): Result<never> {
  return { ok: false, diagnostics: [diagnostic] };
}

function unreadable(display: string, verb: 'read' | 'load', error: unknown): Result<SpecSource> {
  return fail({
    severity: 'error',
    code: 'file-unreadable',
    message: `cannot ${verb} ${display}: ${(error as Error).message}`,
    file: display,
  });
}
