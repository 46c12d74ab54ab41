/**
 * How a running build shows itself. Three views of one event stream: live (listr2, in a
 * terminal), plain timestamped lines (CI logs), JSON lines (machines). The summary at the
 * end is shared.
 */
import type { RunEvent, RunReport, TaskReport } from '@multiarch/core';
import type { Colors } from 'picocolors/types.js';
import { printableDeep } from './printable.js';

export interface ProgressView {
  onEvent(event: RunEvent): void;
  /** Waits until everything is drawn. */
  close(): Promise<void>;
}

export function seconds(ms: number | undefined): string {
  return ms === undefined ? '' : ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms / 1000)}s`;
}

export interface ViewOptions {
  /** Under each failure, the tool's own output that its words were read from. */
  verbose?: boolean;
}

/** One line per task that did not succeed, with its hint: what a reader must act on. */
export function failureLines(raw: RunReport, c: Colors, options: ViewOptions = {}): string[] {
  // Messages carry podman's and registries' words: shown, never obeyed (escaping twice changes nothing).
  const report = printableDeep(raw);
  const failed = report.tasks.filter((t) => t.status === 'failed');
  // A build host that failed, and whose work was done here instead, still wants looking at.
  const replaced = report.tasks.filter(
    (t) =>
      t.status === 'replaced' &&
      t.failure &&
      t.failure.reason !== 'dependency-failed' &&
      t.failure.reason !== 'host-down',
  );
  const leftBehind = Object.entries(report.hosts ?? {}).filter(([, h]) => h.leftBehind !== undefined);
  return [
    ...replaced.flatMap((t) => [
      `${c.yellow('⚠')} ${t.id} on ${t.host}: ${t.failure!.message}`,
      `  ${c.dim('fallback:')} ${t.note ?? 'done here instead'}`,
    ]),
    ...leftBehind.map(
      ([name, h]) =>
        `${c.yellow('⚠')} ${name}: could not remove ${h.leftBehind} there (build contexts and an authfile): remove it when the host is back`,
    ),
    ...failed.flatMap((t) => [
      `${c.red('✖')} ${t.id}${t.host === 'local' ? '' : ` on ${t.host}`}: ${t.failure?.message ?? 'failed'}`,
      ...(t.failure?.hint ? [`  ${c.dim('hint:')} ${t.failure.hint}`] : []),
      ...(options.verbose === true ? (t.failure?.output ?? []).map((line) => `  ${c.dim('|')} ${line}`) : []),
    ]),
  ];
}

/** The one line that says how it went. */
export function summaryLine(raw: RunReport, c: Colors): string {
  const report = printableDeep(raw);
  const count = (status: TaskReport['status']): number => report.tasks.filter((t) => t.status === status).length;
  const parts = [`${count('succeeded')} succeeded`];
  for (const status of ['failed', 'replaced', 'skipped', 'interrupted'] as const)
    if (count(status) > 0) parts.push(`${count(status)} ${status}`);
  const images = Object.entries(report.images);
  const published = images.filter(([, i]) => i.status === 'published').map(([n]) => n);
  const notDone = images
    .filter(([, i]) => i.status === 'failed' || i.status === 'skipped' || i.status === 'interrupted')
    .map(([n, i]) => `${n} ${i.status}`);
  const everyTagMoved = images.length > 0 && published.length === images.length;
  const verdict =
    report.status === 'succeeded'
      ? c.green('done')
      : report.status === 'interrupted'
        ? c.yellow(everyTagMoved ? 'interrupted after every tag moved' : 'interrupted')
        : c.red('failed');
  const imageText = [published.length > 0 ? `published ${published.join(', ')}` : '', ...notDone]
    .filter((s) => s !== '')
    .join('; ');
  return `${verdict}: ${report.tasks.length} tasks: ${parts.join(', ')}${imageText ? `; ${imageText}` : ''} in ${seconds(report.durationMs)} (run ${report.runId})`;
}
