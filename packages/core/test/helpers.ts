import { parseYamlSpec } from '../src/config/source.js';
import { analyzeSource } from '../src/analyze.js';
import type { SpecFiles } from '../src/model/context.js';
import type { Model } from '../src/model/types.js';
import type { Diagnostic } from '../src/diagnostics.js';
import { planBuild } from '../src/plan/planner.js';
import type { Plan } from '../src/plan/types.js';

/** In-memory files: every directory that holds a file exists; `dirs` adds empty ones. */
export function memoryFiles(files: Record<string, string>, dirs: readonly string[] = []): SpecFiles {
  const directories = new Set<string>(['.', ...dirs]);
  for (const file of Object.keys(files)) {
    const parts = file.split('/');
    for (let i = 1; i < parts.length; i++) directories.add(parts.slice(0, i).join('/'));
  }
  return {
    readText: (p) => files[p],
    isDirectory: (p) => directories.has(p),
    exists: (p) => p in files || directories.has(p),
    specialFiles: () => [],
  };
}

export interface AnalyzeTextOptions {
  files?: Record<string, string>;
  env?: Record<string, string>;
  localPlatform?: string;
}

/** Parse, validate and resolve a spec held in a string; every image context gets a busybox Containerfile unless `files` says otherwise. */
export function analyzeText(
  text: string,
  options: AnalyzeTextOptions = {},
): { model?: Model; diagnostics: Diagnostic[] } {
  const parsed = parseYamlSpec('multiarch.yaml', text);
  if (!parsed.ok) return { diagnostics: parsed.diagnostics };
  const data = parsed.value.data as { images?: Record<string, { context?: unknown }> } | null;
  const files: Record<string, string> = {};
  for (const image of Object.values(data?.images ?? {})) {
    if (typeof image?.context === 'string')
      files[`${image.context}/Containerfile`] = 'FROM docker.io/library/busybox:1.36\n';
  }
  Object.assign(files, options.files);
  const result = analyzeSource(parsed.value, {
    env: options.env ?? {},
    localPlatform: options.localPlatform ?? 'linux/amd64',
    localJobs: 2,
    files: memoryFiles(files),
  });
  return result.ok
    ? { model: result.value.model, diagnostics: result.diagnostics }
    : { diagnostics: result.diagnostics };
}

export function modelOf(text: string, options: AnalyzeTextOptions = {}): Model {
  const { model, diagnostics } = analyzeText(text, options);
  if (!model)
    throw new Error(
      `spec did not resolve:\n${diagnostics.map((d) => `${d.code} ${d.range?.start.line}:${d.range?.start.col} ${d.message}`).join('\n')}`,
    );
  return model;
}

/** The plan of a spec text that must plan (all images, all platforms, pushing). */
export function planOf(text: string): Plan {
  const planned = planBuild(modelOf(text), { images: [], platforms: [], push: true });
  if (!planned.ok) throw new Error(JSON.stringify(planned.diagnostics));
  return planned.value;
}
