import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { hasErrors, sortDiagnostics, type Diagnostic, type Result } from './diagnostics.js';
import { loadSpec, type ConfigFormat } from './config/load.js';
import type { SpecSource } from './config/source.js';
import type { SpecFiles } from './model/context.js';
import { readRegularFile, walkContext } from './model/context-files.js';
import { applyImageDefaults, withoutExtensionKeys } from './model/defaults.js';
import { resolveModel } from './model/resolve.js';
import type { Model } from './model/types.js';
import { validateSchema } from './schema/validate.js';

export interface AnalyzeOptions {
  cwd: string;
  configFile?: string | undefined;
  /** The spec formats allowed (default all); `js` configs are executed to be read. */
  configFormats?: readonly ConfigFormat[] | undefined;
  env: Readonly<Record<string, string | undefined>>;
  localPlatform: string;
  localJobs: number;
}

export interface Analysis {
  model: Model;
  source: SpecSource;
  /** Absolute directory of the spec: the plan's argv paths are relative to it. */
  specDir: string;
}

/**
 * The analyzer: find, parse, validate and resolve the spec. Everything that can be wrong
 * with the spec is found here and reported with its place in the file; the planner after
 * it cannot fail on the spec.
 */
export async function analyze(options: AnalyzeOptions): Promise<Result<Analysis> & { source?: SpecSource }> {
  const loaded = await loadSpec({ cwd: options.cwd, configFile: options.configFile, formats: options.configFormats });
  if (!loaded.ok) return loaded;
  const source = loaded.value;
  const specDir = path.resolve(options.cwd, path.dirname(source.file));
  return { ...analyzeSource(source, { ...options, files: diskFiles(specDir) }, specDir), source };
}

/** Schema errors after which the data still has the shape the resolver reads (it ignores unknown keys). */
const SHAPE_PRESERVING = new Set<Diagnostic['code']>(['unknown-key']);

/** The pure part of analysis, for a spec already in memory. */
export function analyzeSource(
  asWritten: SpecSource,
  options: Omit<AnalyzeOptions, 'cwd' | 'configFile' | 'configFormats'> & { files: SpecFiles },
  specDir = '.',
): Result<Analysis> {
  // `x-` keys are ignored anywhere (YAML anchors live there); `defaults:` is merged into each image once it is valid.
  const written: SpecSource = {
    file: asWritten.file,
    text: asWritten.text,
    data: withoutExtensionKeys(asWritten.data),
    locate: (path, part) => asWritten.locate(path, part),
    locateWithin: (path, needle) => asWritten.locateWithin(path, needle),
    written: (path) => asWritten.written(path),
  };
  const schemaDiagnostics = validateSchema(written);
  // Unknown keys leave the shape of the rest intact: resolve anyway, so every problem shows at once.
  if (!schemaDiagnostics.every((d) => SHAPE_PRESERVING.has(d.code)))
    return { ok: false, diagnostics: sortDiagnostics(schemaDiagnostics) };
  const source = applyImageDefaults(written);
  const resolved = resolveModel(source, options);
  const diagnostics: Diagnostic[] = sortDiagnostics([...schemaDiagnostics, ...resolved.diagnostics]);
  if (!resolved.ok || hasErrors(diagnostics)) return { ok: false, diagnostics };
  return { ok: true, value: { model: resolved.value, source, specDir }, diagnostics };
}

/** Files the spec names, read from disk relative to the spec's directory. */
export function diskFiles(specDir: string): SpecFiles {
  const cache = new Map<string, string | undefined>();
  return {
    readText(relative) {
      if (!cache.has(relative))
        cache.set(relative, readRegularFile(path.resolve(specDir, relative))?.content.toString('utf8'));
      return cache.get(relative);
    },
    specialFiles(context, containerfile) {
      try {
        return walkContext(path.resolve(specDir, context), path.posix.relative(context, containerfile)).special;
      } catch {
        return []; // an unreadable directory: the upload that cannot send it says so, with the system's reason
      }
    },
    exists(relative) {
      return existsSync(path.resolve(specDir, relative.replace(/^~(?=\/)/, homedir())));
    },
    isDirectory(relative) {
      try {
        return statSync(path.resolve(specDir, relative)).isDirectory();
      } catch {
        return false;
      }
    },
  };
}
