import { InvalidArgumentError } from 'commander';
import { availableParallelism } from 'node:os';
import {
  analyze,
  checkPlatform,
  computeInputHashes,
  CONFIG_FORMATS,
  defaultStatCacheFile,
  planBuild,
  planInputs,
  platformOfNodeArch,
  type Analysis,
  type ConfigFormat,
  type Diagnostic,
  type Plan,
} from '@multiarch/core';
import { EXIT, reportDiagnostics, type Io } from '../io.js';

export interface SpecOptions {
  config?: string;
  /** --config-format; when absent, ORCHESTRATE_CONFIG_FORMAT; when neither, every format. */
  configFormat?: ConfigFormat[];
  localPlatform?: string;
  localJobs?: number;
}

export interface PlanFilterOptions extends SpecOptions {
  image: string[];
  platform: string[];
  push: boolean;
  /** --fallback: overrides every build host's `fallback`. */
  fallback?: 'fail' | 'emulate';
}

export const FALLBACK_MODES = ['fail', 'emulate'] as const;

/** The environment variable CI sets once instead of passing --config-format to every command. */
export const CONFIG_FORMAT_ENV = 'ORCHESTRATE_CONFIG_FORMAT';

/** --config-format / ORCHESTRATE_CONFIG_FORMAT: a comma-separated list of spec formats, e.g. yaml,json. */
export function parseConfigFormats(value: string): ConfigFormat[] | { error: string } {
  const items = value.split(',').map((item) => item.trim().toLowerCase());
  const unknown = items.filter((item) => !(CONFIG_FORMATS as readonly string[]).includes(item));
  if (unknown.length > 0)
    return {
      error: `unknown format ${unknown.map((u) => `"${u}"`).join(', ')}: expected some of ${CONFIG_FORMATS.join(', ')}`,
    };
  return [...new Set(items as ConfigFormat[])];
}

export function configFormatOption(value: string): ConfigFormat[] {
  const parsed = parseConfigFormats(value);
  if ('error' in parsed) throw new InvalidArgumentError(parsed.error);
  return parsed;
}

/** The analyzer with this process's environment, working directory and machine. */
export async function analyzeSpec(io: Io, options: SpecOptions): ReturnType<typeof analyze> {
  const fromEnv = io.env[CONFIG_FORMAT_ENV];
  const formats =
    options.configFormat ?? (fromEnv === undefined || fromEnv === '' ? undefined : parseConfigFormats(fromEnv));
  if (formats !== undefined && 'error' in formats)
    return {
      ok: false,
      diagnostics: [
        {
          severity: 'error',
          code: 'invalid-value',
          message: `${CONFIG_FORMAT_ENV}=${fromEnv}: ${formats.error}`,
          hint: `set it to the formats allowed, e.g. ${CONFIG_FORMAT_ENV}=yaml,json, or unset it`,
        },
      ],
    };
  return analyze({
    cwd: io.cwd,
    configFile: options.config,
    configFormats: formats,
    env: io.env,
    localPlatform: options.localPlatform ?? platformOfNodeArch(process.arch),
    localJobs: options.localJobs ?? availableParallelism(),
  });
}

/** --local-platform: a platform as podman spells it (linux/aarch64 becomes linux/arm64). */
export function platformOption(value: string): string {
  const check = checkPlatform(value);
  if (!check.ok) throw new InvalidArgumentError(`${check.reason} (${check.hint})`);
  return check.platform;
}

export interface MadePlan {
  plan: Plan;
  analysis: Analysis;
  /** The analyzer's and the planner's diagnostics (warnings only: with an error there is no plan). */
  diagnostics: Diagnostic[];
}

/**
 * analyze + plan, reporting diagnostics (the warnings too, unless `warnings: false`: doctor
 * shows them as rows); an exit code when there is no plan to go on with.
 */
export async function makePlan(
  io: Io,
  options: PlanFilterOptions,
  report: { warnings: boolean } = { warnings: true },
): Promise<MadePlan | { exitCode: number }> {
  const analysis = await analyzeSpec(io, options);
  if (!analysis.ok) {
    reportDiagnostics(io, analysis.diagnostics, analysis.source);
    return { exitCode: EXIT.usage };
  }
  const written = analysis.value.model;
  const fallback = options.fallback;
  const model =
    fallback === undefined
      ? written
      : { ...written, hosts: written.hosts.map((h) => (h.kind === 'ssh' ? { ...h, fallback } : h)) };
  const { specDir, source } = analysis.value;
  const inputs = planInputs(specDir, source.file, model);
  // Outside bases are not resolved here (no registry is asked): their references alone count.
  const hashed = computeInputHashes(
    specDir,
    model,
    options.image,
    {},
    {
      cacheFile: defaultStatCacheFile(io.env, specDir),
    },
  );
  if (!hashed.ok) {
    const diagnostic: Diagnostic = {
      severity: 'error',
      code: 'file-unreadable',
      file: source.file,
      message: `cannot read the files of image "${hashed.image}" to hash its inputs: ${hashed.reason}`,
      hint: 'make them readable (podman could not read them either), or leave unreadable files of the context out with .containerignore',
    };
    const range = source.locate(['images', hashed.image, 'context']) ?? source.locate(['images', hashed.image], 'key');
    reportDiagnostics(io, [...analysis.diagnostics, range ? { ...diagnostic, range } : diagnostic], source);
    return { exitCode: EXIT.usage };
  }
  const planned = planBuild(model, {
    images: options.image,
    platforms: options.platform,
    push: options.push,
    inputs,
    imageInputs: hashed.hashes,
  });
  const diagnostics = [...analysis.diagnostics, ...planned.diagnostics];
  if (report.warnings || !planned.ok) reportDiagnostics(io, diagnostics, source);
  if (!planned.ok) return { exitCode: EXIT.usage };
  return { plan: planned.value, analysis: analysis.value, diagnostics };
}

/**
 * Repeatable options that also take comma-separated lists: --platform a,b --platform c.
 * An empty item (`--platform ''`, `a,,b`, `a,`) is refused, not dropped: dropped, an empty
 * `--platform ''` would quietly mean no filter at all, and publish. Platforms are checked
 * by the planner's selection, with the spec's own parser (exit 2 there too).
 */
export function collectList(value: string, previous: string[] = []): string[] {
  const items = value.split(',').map((v) => v.trim());
  if (items.every((v) => v === '')) throw new InvalidArgumentError('it is empty: name one, or leave the option out');
  if (items.includes('')) throw new InvalidArgumentError('an item of the comma-separated list is empty');
  return [...previous, ...items];
}

/** An option parser for whole numbers of at least `min`. */
function wholeNumberFrom(min: number): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (!Number.isInteger(number) || number < min)
      throw new InvalidArgumentError(`expected a whole number of at least ${min}`);
    return number;
  };
}

/** --local-jobs, --jobs. */
export const positiveInteger = wholeNumberFrom(1);
/** --retries. */
export const nonNegativeInteger = wholeNumberFrom(0);
