/**
 * `orchestrate build`: makes the plan `plan --format json` shows, then runs exactly it.
 * Ctrl-C once: nothing new starts, running commands are terminated, a begun publish
 * finishes, exit 130. Twice: everything is killed at once.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { checkRunInputs, DEFAULT_RETRY, executePlan, LocalRunner, unreachable, type RunReport } from '@multiarch/core';
import { EXIT, reportDiagnostics, type Io } from '../io.js';
import { jsonView } from '../render/progress-json.js';
import { linesView } from '../render/progress-lines.js';
import { listrView } from '../render/progress-listr.js';
import type { ProgressView } from '../render/progress.js';
import { registryRetryAfter } from '../registry-probe.js';
import { makePlan, type PlanFilterOptions } from './common.js';

export const BUILD_OUTPUTS = ['text', 'json'] as const;

export interface BuildCommandOptions extends PlanFilterOptions {
  jobs?: number;
  keepGoing: boolean;
  report?: string;
  output: (typeof BUILD_OUTPUTS)[number];
  retries: number;
}

export async function buildCommand(io: Io, options: BuildCommandOptions): Promise<number> {
  const made = await makePlan(io, options);
  if ('exitCode' in made) return made.exitCode;
  const { plan } = made;
  const runner = new LocalRunner();
  const problems = await checkRunInputs(plan, io.cwd, io.env, runner);
  if (problems.length > 0) {
    reportDiagnostics(io, problems);
    return EXIT.usage;
  }

  const interrupt = new AbortController();
  const kill = new AbortController();
  const onSignal = (): void => {
    if (!interrupt.signal.aborted) {
      io.stderr('\norchestrate: interrupted: starting nothing new and stopping running tasks (Ctrl-C again to kill at once)\n');
      interrupt.abort();
      return;
    }
    kill.abort();
    runner.killAll();
  };
  // SIGHUP too: a closed terminal must not leave the run's authfile behind, nor orphaned podman.
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const signal of signals) process.on(signal, onSignal);

  const view = progressView(io, options.output);
  let report: RunReport;
  try {
    report = await executePlan(plan, {
      cwd: io.cwd,
      env: io.env,
      runner,
      ...(options.jobs !== undefined && { jobs: options.jobs }),
      keepGoing: options.keepGoing,
      retry: { ...DEFAULT_RETRY, retries: options.retries },
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

function progressView(io: Io, output: BuildCommandOptions['output']): ProgressView {
  if (output === 'json') return jsonView(io.stdout);
  // Live only where a person watches: a terminal, and not CI (whose logs want plain lines).
  // A terminal that reports no width (some pseudo-terminals) would get one character per line.
  const live = process.stdout.isTTY === true && (process.stdout.columns ?? 0) >= 20 && io.env['CI'] === undefined && io.env['TERM'] !== 'dumb';
  return live ? listrView(io.stdout, io.colors.stdout) : linesView(io.stdout, io.colors.stdout);
}
