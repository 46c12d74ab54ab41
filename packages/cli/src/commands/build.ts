/**
 * `orchestrate build`: makes the plan `plan --format json` shows, then runs exactly it.
 * Ctrl-C once: nothing new starts, running commands are terminated, a begun publish
 * finishes, exit 130. Twice: everything is killed at once. --timeout: as the first Ctrl-C,
 * but the run failed (exit 1), with reason `timeout`.
 */
import { constants } from 'node:fs';
import { access, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  checkRunInputs,
  DEFAULT_RETRY,
  executePlan,
  LocalRunner,
  secretEnvOf,
  preflightChecks,
  readPlanFile,
  unreachable,
  type Diagnostic,
  type Plan,
  type RunReport,
} from '@multiarch/core';
import { EXIT, reportDiagnostics, type Io } from '../io.js';
import { renderChecks } from '../render/doctor.js';
import { jsonView } from '../render/progress-json.js';
import { linesView } from '../render/progress-lines.js';
import { listrView } from '../render/progress-listr.js';
import type { ProgressView } from '../render/progress.js';
import { registryRetryAfter } from '../registry-probe.js';
import { makePlan, type PlanFilterOptions } from './common.js';

export const BUILD_OUTPUTS = ['text', 'json'] as const;

export interface BuildCommandOptions extends PlanFilterOptions {
  /** A plan saved by `plan --format json`, run as it is instead of planning now. */
  plan?: string;
  jobs?: number;
  keepGoing: boolean;
  report?: string;
  output: (typeof BUILD_OUTPUTS)[number];
  /** Under each failure, the output of podman/skopeo/ssh it was translated from. */
  verbose: boolean;
  retries: number;
  registryTimeout: number;
  /** --timeout: the whole run's limit, in ms. */
  timeout?: number;
}

export async function buildCommand(io: Io, options: BuildCommandOptions): Promise<number> {
  const made = options.plan === undefined ? await makePlan(io, options) : await savedPlan(io, options.plan, options);
  if ('exitCode' in made) return made.exitCode;
  const { plan } = made;
  // Not even the pre-flight's probes inherit the run's secrets.
  const runner = new LocalRunner(undefined, secretEnvOf(plan));
  const problems = [
    ...(await checkRunInputs(plan, io.cwd, io.env, runner)),
    ...(await checkReportPath(io.cwd, options.report)),
  ];
  if (problems.length > 0) {
    reportDiagnostics(io, problems);
    return EXIT.usage;
  }
  // The machine, not the spec, is not ready: exit 1 (as a failed task), not 2 (a wrong spec or
  // command line): the same command succeeds once the fix is applied, with nothing edited.
  const unready = (await preflightChecks(plan, runner)).filter((c) => c.status === 'fail');
  if (unready.length > 0) {
    io.stderr(
      `orchestrate: this machine cannot run the plan yet (nothing was started; \`orchestrate doctor\` checks more):\n${renderChecks(unready, io.colors.stderr)}`,
    );
    return EXIT.failed;
  }

  const interrupt = new AbortController();
  const kill = new AbortController();
  const onSignal = (): void => {
    if (!interrupt.signal.aborted) {
      io.stderr(
        '\norchestrate: interrupted: starting nothing new and stopping running tasks (Ctrl-C again to kill at once)\n',
      );
      interrupt.abort();
      return;
    }
    kill.abort();
    runner.killAll();
  };
  // SIGHUP too: a closed terminal must not leave the run's authfile behind, nor orphaned podman.
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const signal of signals) process.on(signal, onSignal);
  // Whoever read our output went away (`| head`): wind down as after one Ctrl-C, cleaning up.
  io.onOutputClosed?.(() => {
    if (!interrupt.signal.aborted) interrupt.abort();
  });

  const view = progressView(io, options);
  let report: RunReport;
  try {
    report = await executePlan(plan, {
      cwd: io.cwd,
      env: io.env,
      runner,
      ...(options.jobs !== undefined && { jobs: options.jobs }),
      keepGoing: options.keepGoing,
      retry: { ...DEFAULT_RETRY, retries: options.retries },
      registryIdleMs: options.registryTimeout,
      ...(options.timeout !== undefined && { timeoutMs: options.timeout }),
      interrupt: interrupt.signal,
      kill: kill.signal,
      retryAfter: registryRetryAfter(plan),
      onEvent: (event) => view.onEvent(event),
    });
  } finally {
    for (const signal of signals) process.off(signal, onSignal);
    await view.close();
  }
  if (options.report !== undefined) {
    await writeFile(path.resolve(io.cwd, options.report), `${JSON.stringify(report, null, 2)}\n`);
  }
  switch (report.status) {
    case 'succeeded':
      return EXIT.ok;
    case 'failed':
      return EXIT.failed;
    case 'interrupted':
      return EXIT.interrupted;
    default:
      return unreachable(report.status);
  }
}

/** `--plan FILE`: the plan as saved, refused (exit 2) when it is of another format or its files changed. Planning options do not mix with it. */
async function savedPlan(
  io: Io,
  file: string,
  options: BuildCommandOptions,
): Promise<{ plan: Plan } | { exitCode: number }> {
  const planning = [
    options.config !== undefined && '--config',
    options.image.length > 0 && '--image',
    options.platform.length > 0 && '--platform',
    !options.push && '--no-push',
    options.fallback !== undefined && '--fallback',
    options.localPlatform !== undefined && '--local-platform',
    options.localJobs !== undefined && '--local-jobs',
  ].filter((flag): flag is string => flag !== false);
  if (planning.length > 0) {
    io.stderr(`orchestrate: ${planning.join(', ')} shape${planning.length === 1 ? 's' : ''} a plan, and --plan runs one already made: give them to \`orchestrate plan\` instead
`);
    return { exitCode: EXIT.usage };
  }
  const read = await readPlanFile(file, io.cwd);
  if (!read.ok) {
    reportDiagnostics(io, read.diagnostics);
    return { exitCode: EXIT.usage };
  }
  return { plan: read.value };
}

/**
 * The report is written after the run: a path that cannot be written must stop the build
 * before it starts, not after every tag moved.
 */
async function checkReportPath(cwd: string, report: string | undefined): Promise<Diagnostic[]> {
  if (report === undefined) return [];
  const file = path.resolve(cwd, report);
  const existing = await stat(file).catch(() => undefined);
  const problem = existing?.isDirectory()
    ? 'it is a directory'
    : await access(existing ? file : path.dirname(file), constants.W_OK).then(
        () => undefined,
        (error: unknown) =>
          (error as NodeJS.ErrnoException).code === 'ENOENT'
            ? `${path.dirname(report)} does not exist`
            : `it cannot be written (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      );
  if (problem === undefined) return [];
  return [
    {
      severity: 'error',
      code: 'file-unwritable',
      message: `cannot write the report to ${report}: ${problem}`,
      hint: 'give --report a file in a directory that exists and that you may write to',
    },
  ];
}

function progressView(io: Io, { output, verbose }: BuildCommandOptions): ProgressView {
  switch (output) {
    case 'json':
      return jsonView(io.stdout);
    case 'text':
      // Live only where a person watches: a terminal, and not CI (whose logs want plain lines).
      // A terminal that reports no width (some pseudo-terminals) would get one character per line.
      return io.terminal && io.env['CI'] === undefined && io.env['TERM'] !== 'dumb'
        ? listrView(io.stdout, io.colors.stdout, { verbose })
        : linesView(io.stdout, io.colors.stdout, { verbose });
    default:
      return unreachable(output);
  }
}
