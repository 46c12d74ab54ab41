/**
 * Plain lines for logs (CI, pipes): every line stamped with the time, no spinners, no
 * escape codes unless colors are asked for. Podman's own output follows its task's id,
 * its control characters written out, so it cannot rewrite or forge a line.
 */
import { unreachable, type RunEvent } from '@multiarch/core';
import type { Colors } from 'picocolors/types.js';
import { printableDeep } from './printable.js';
import { failureLines, seconds, summaryLine, type ProgressView, type ViewOptions } from './progress.js';

export function linesView(
  write: (text: string) => void,
  c: Colors,
  { now = () => new Date(), ...options }: ViewOptions & { now?: () => Date } = {},
): ProgressView {
  const stamp = (): string => c.dim(now().toISOString().slice(11, 19));
  const line = (text: string): void => write(`${stamp()} ${text}\n`);
  return {
    onEvent(raw: RunEvent): void {
      const event = printableDeep(raw);
      switch (event.type) {
        case 'run-start': {
          const { plan } = event;
          line(
            `run ${event.runId}: ${plan.tasks.length} tasks for ${Object.keys(plan.images).length} images from ${plan.spec}`,
          );
          break;
        }
        case 'task-start':
          line(`${c.cyan('start')} ${event.task.id}${event.task.placement ? c.dim(` (${event.task.placement})`) : ''}`);
          break;
        case 'task-output':
          line(`${c.dim(`${event.task.id} |`)} ${event.line}`);
          break;
        case 'task-retry':
          line(
            `${c.yellow('retry')} ${event.task.id} in ${seconds(event.delayMs)} (retry ${event.retry}): ${event.failure.message}`,
          );
          break;
        case 'task-end': {
          const { report } = event;
          const took = report.durationMs === undefined ? '' : ` ${seconds(report.durationMs)}`;
          switch (report.status) {
            case 'succeeded':
              line(
                `${c.green('ok')}    ${report.id}${took}${report.note ? c.dim(` (${report.note})`) : ''}${report.digest ? c.dim(` ${report.digest}`) : ''}`,
              );
              break;
            case 'failed':
              line(`${c.red('FAIL')}  ${report.id}${took}: ${report.failure?.message ?? ''}`);
              if (report.failure?.hint) line(`      hint: ${report.failure.hint}`);
              break;
            case 'replaced':
              line(`${c.yellow('moved')} ${report.id}: ${report.note ?? ''}`);
              break;
            case 'not-needed':
              line(`${c.dim('unneeded')} ${report.id}`);
              break;
            case 'skipped':
            case 'interrupted':
              line(
                `${c.yellow(report.status === 'skipped' ? 'skip' : 'stop')}  ${report.id}: ${report.failure?.message ?? ''}`,
              );
              break;
            default:
              unreachable(report.status);
          }
          break;
        }
        case 'notice':
          line(`${c.yellow('note')}  ${event.message}`);
          break;
        case 'run-end':
          for (const text of failureLines(event.report, c, options)) line(text);
          line(summaryLine(event.report, c));
          break;
        default:
          unreachable(event);
      }
    },
    close: async () => {},
  };
}
