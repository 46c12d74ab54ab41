import { homedir } from 'node:os';
import path from 'node:path';
import type { Diagnostic, Result } from '../diagnostics.js';
import { readSpecFile, type SpecFileRead } from './read.js';
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

/**
 * The formats a spec can be written in. `js` covers every file that is executed to be read
 * (.js, .cjs, .mjs, .ts): running `plan` in a checkout of someone's pull request would run
 * their code, so CI can leave `js` out (CLI --config-format, ORCHESTRATE_CONFIG_FORMAT).
 */
export const CONFIG_FORMATS = ['yaml', 'json', 'js'] as const;
export type ConfigFormat = (typeof CONFIG_FORMATS)[number];

/** Extensions whose loader executes the file (cosmiconfig's defaultLoaders); anything else is read as YAML text. */
const CODE_EXTENSIONS = ['.js', '.cjs', '.mjs', '.ts'] as const;
const isCodeExtension = (extension: string): extension is (typeof CODE_EXTENSIONS)[number] =>
  (CODE_EXTENSIONS as readonly string[]).includes(extension);

export function formatOf(file: string): ConfigFormat {
  const extension = path.extname(file);
  if (isCodeExtension(extension)) return 'js';
  return extension === '.json' ? 'json' : 'yaml';
}

export interface LoadOptions {
  /** Directory to search from. */
  readonly cwd: string;
  /** A file named on the command line (`--config`); no search then. */
  readonly configFile?: string | undefined;
  /** The formats allowed; by default all. A spec in another format is refused before it is read. */
  readonly formats?: readonly ConfigFormat[] | undefined;
}

/**
 * Finds and parses the spec. The search is cosmiconfig's (the same places, from the
 * working directory up to the home directory, then ~/.config/multiarch), done here: its
 * own reads every candidate whole with no size cap (a FIFO named multiarch.yaml hangs it),
 * executes JavaScript candidates while searching, and first looks for a meta config
 * (.config/config.js in the working directory), which it executes too.
 * YAML and JSON files are parsed here, from their text, so every later diagnostic can point at a line.
 */
export async function loadSpec(options: LoadOptions): Promise<Result<SpecSource>> {
  const formats = new Set(options.formats ?? CONFIG_FORMATS);
  let filepath: string;
  let read: SpecFileRead | undefined;
  if (options.configFile !== undefined) {
    filepath = path.resolve(options.cwd, options.configFile);
  } else {
    const found = await searchSpec(options.cwd);
    if (found === undefined) {
      return fail({
        severity: 'error',
        code: 'config-not-found',
        message: `no multiarch spec found in ${options.cwd} or any directory above it`,
        hint: `create multiarch.yaml (see examples/hello), or name one with --config FILE; looked for ${SEARCH_PLACES.slice(0, 4).join(', ')}, package.json#multiarch and others`,
      });
    }
    if ('severity' in found) return fail(found);
    ({ filepath, read } = found);
  }
  const display = displayPath(options.cwd, filepath);
  const format = formatOf(filepath);
  // Before the file is read, let alone run.
  if (!formats.has(format)) return fail(refused(display, format, formats));

  read ??= await readSpecFile(filepath, MAX_SPEC_BYTES);
  switch (read.kind) {
    case 'missing':
      return fail({
        severity: 'error',
        code: 'config-not-found',
        message: `spec file ${display} does not exist`,
        file: display,
        hint: 'check the path given to --config',
      });
    case 'directory':
      return fail({
        severity: 'error',
        code: 'file-unreadable',
        message: `${display} is a directory`,
        file: display,
        hint: 'name the spec file itself, e.g. --config dir/multiarch.yaml',
      });
    case 'special':
      return fail({
        severity: 'error',
        code: 'not-a-regular-file',
        message: `${display} is ${read.what}, not a regular file: it is not read`,
        file: display,
        hint: 'name a spec file (through a symlink if need be), e.g. --config multiarch.yaml',
      });
    case 'too-large':
      return fail({
        severity: 'error',
        code: 'file-too-large',
        message: `${display} is more than ${read.limit} bytes, the most a spec may be`,
        file: display,
        hint: 'split the monorepo into several specs, or check that this is the right file',
      });
    case 'unreadable':
      return unreadable(display, 'read', read.reason);
    case 'text':
      if (format === 'js') return loadScriptSpec(filepath, display, read.text);
      return parseYamlSpec(
        display,
        read.text,
        path.basename(filepath) === 'package.json' ? { root: [MODULE_NAME] } : {},
      );
  }
}

/** Where cosmiconfig's `global` search strategy looks: each directory up to the home directory, then the user's config directory. */
function* searchDirectories(cwd: string): Generator<{ dir: string; places: readonly string[] }> {
  const stop = homedir();
  let dir = path.resolve(cwd);
  for (;;) {
    yield { dir, places: SEARCH_PLACES };
    const parent = path.dirname(dir);
    if (dir === stop || parent === dir) break;
    dir = parent;
  }
  const configHome = process.env['XDG_CONFIG_HOME'] || path.join(stop, '.config');
  yield { dir: path.join(configHome, MODULE_NAME), places: GLOBAL_PLACES };
}

const GLOBAL_PLACES = [
  'config',
  'config.json',
  'config.yaml',
  'config.yml',
  'config.js',
  'config.ts',
  'config.cjs',
  'config.mjs',
];

/**
 * The first place that holds a spec, with what was read there; undefined when none does,
 * or a diagnostic when a package.json on the way cannot be parsed. Empty files, and a
 * package.json without a `multiarch` key, hold none; nothing is executed here.
 */
async function searchSpec(cwd: string): Promise<{ filepath: string; read: SpecFileRead } | Diagnostic | undefined> {
  for (const { dir, places } of searchDirectories(cwd)) {
    for (const place of places) {
      const filepath = path.join(dir, place);
      const read = await readSpecFile(filepath, MAX_SPEC_BYTES);
      if (read.kind === 'missing' || read.kind === 'directory' || read.kind === 'unreadable') continue;
      if (read.kind === 'text') {
        if (read.text.trim() === '') continue;
        if (place === 'package.json') {
          const held = packageSpec(filepath, read.text, cwd);
          if (held === false) continue;
          if (held !== true) return held;
        }
      }
      return { filepath, read };
    }
  }
  return undefined;
}

/** Whether a package.json holds a spec (a `multiarch` key), or a diagnostic when it is not JSON. */
function packageSpec(filepath: string, text: string, cwd: string): boolean | Diagnostic {
  try {
    const data = JSON.parse(text) as unknown;
    return data !== null && typeof data === 'object' && (data as Record<string, unknown>)[MODULE_NAME] != null;
  } catch (error) {
    // A broken package.json on the way up stops the search, as it did cosmiconfig's.
    return {
      severity: 'error',
      code: 'file-unreadable',
      message: `cannot read ${filepath} while looking for the spec: ${firstLine((error as Error).message)}`,
      file: displayPath(cwd, filepath),
      hint: 'fix that file, or name the spec with --config FILE',
    };
  }
}

/** A JavaScript or TypeScript spec, executed by cosmiconfig's loader for its extension (no meta config looked for). */
async function loadScriptSpec(filepath: string, display: string, text: string): Promise<Result<SpecSource>> {
  const { defaultLoaders } = await import('cosmiconfig');
  const extension = path.extname(filepath);
  if (!isCodeExtension(extension)) return unreadable(display, 'load', `no loader for ${extension}`);
  try {
    const loader = defaultLoaders[extension];
    return { ok: true, value: plainSource(display, await loader(filepath, text)), diagnostics: [] };
  } catch (error) {
    return unreadable(display, 'load', (error as Error).message);
  }
}

function refused(display: string, format: ConfigFormat, allowed: ReadonlySet<ConfigFormat>): Diagnostic {
  const list = [...allowed].join(',');
  return {
    severity: 'error',
    code: 'config-format-refused',
    message:
      format === 'js'
        ? `${display} is a code config: reading it would execute it, and code configs are refused here (allowed: ${list})`
        : `${display} is a ${format} config, and only ${list} configs are allowed here`,
    file: display,
    hint:
      format === 'js'
        ? 'write the spec as multiarch.yaml; or, where the spec is trusted, allow code with --config-format yaml,json,js (or ORCHESTRATE_CONFIG_FORMAT)'
        : 'allow the format with --config-format (or ORCHESTRATE_CONFIG_FORMAT), or name another file with --config',
  };
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

function unreadable(display: string, verb: 'read' | 'load', reason: string): Result<SpecSource> {
  return fail({
    severity: 'error',
    code: 'file-unreadable',
    message: `cannot ${verb} ${display}: ${reason}`,
    file: display,
  });
}
