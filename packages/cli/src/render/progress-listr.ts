/**
 * The live view in a terminal: listr2, one group per image (and one for registry logins),
 * one row per task, the running task's podman output under it, then the summary. The
 * scheduler decides what runs; listr2 only draws it, so each row waits for its task's
 * events instead of running anything.
 */
import { unreachable, type PlanTask, type RunEvent, type TaskReport } from '@multiarch/core';
import { Listr, type ListrTaskWrapper, type ListrDefaultRenderer, type ListrSimpleRenderer } from 'listr2';
import type { Colors } from 'picocolors/types.js';
import { tasksByImage } from './group.js';
import { printableDeep } from './printable.js';
import { failureLines, seconds, summaryLine, type ProgressView, type ViewOptions } from './progress.js';

type Row = ListrTaskWrapper<unknown, ListrDefaultRenderer, ListrSimpleRenderer>;

interface Pending {
  row?: Row;
  started: boolean;
  end?: TaskReport;
  resolve?: () => void;
}

export function listrView(write: (text: string) => void, c: Colors, options: ViewOptions = {}): ProgressView {
  const rows = new Map<string, Pending>();
  let listr: Promise<unknown> | undefined;
  let summary: string[] = [];
  const notices: string[] = [];

  const settle = (id: string): void => {
    const pending = rows.get(id);
    if (pending?.end && pending.row && pending.resolve) pending.resolve();
  };

  const rowTask =
    (task: PlanTask) =>
    async (_ctx: unknown, row: Row): Promise<void> => {
      const pending = rows.get(task.id)!;
      pending.row = row;
      row.title = `${c.dim(task.id)} ${c.dim('waiting')}`;
      if (pending.started) row.title = titleOf(task, c);
      await new Promise<void>((resolve) => {
        pending.resolve = resolve;
        settle(task.id);
      });
      const end = pending.end!;
      const took = end.durationMs === undefined ? '' : c.dim(` ${seconds(end.durationMs)}`);
      if (end.status === 'succeeded') {
        row.title = `${titleOf(task, c)}${took}${end.note ? c.dim(` (${end.note})`) : ''}`;
        return;
      }
      if (end.status === 'skipped' || end.status === 'not-needed' || end.status === 'replaced') {
        const why =
          end.status === 'not-needed'
            ? 'not needed'
            : end.status === 'replaced'
              ? (end.note ?? 'done elsewhere')
              : (end.failure?.message ?? 'skipped');
        row.skip(`${task.id}: ${why}`);
        return;
      }
      row.title = `${titleOf(task, c)}${took}`;
      throw new Error(end.failure?.message ?? end.status);
    };

  return {
    onEvent(raw: RunEvent): void {
      // Values only: listr2 draws with escape codes of its own, podman's must not move them.
      const event = printableDeep(raw);
      switch (event.type) {
        case 'run-start': {
          const groups = [...tasksByImage(event.plan)].map(([image, tasks]) => {
            for (const task of tasks) rows.set(task.id, { started: false });
            return {
              title: image === null ? 'registries and base images' : image,
              task: (_ctx: unknown, group: Row) =>
                group.newListr(
                  tasks.map((task) => ({
                    title: task.id,
                    task: rowTask(task),
                    rendererOptions: { outputBar: 5, persistentOutput: false },
                  })),
                  { concurrent: true, exitOnError: false },
                ),
            };
          });
          listr = new Listr(groups, {
            concurrent: true,
            exitOnError: false,
            renderer: 'default',
            rendererOptions: { collapseSubtasks: false, collapseSkips: false, showErrorMessage: true },
          })
            .run()
            .catch(() => undefined);
          break;
        }
        case 'task-start': {
          const pending = rows.get(event.task.id);
          if (!pending) break;
          pending.started = true;
          if (pending.row) pending.row.title = titleOf(event.task, c);
          break;
        }
        case 'task-output': {
          const row = rows.get(event.task.id)?.row;
          if (row) row.output = event.line;
          break;
        }
        case 'task-retry': {
          const row = rows.get(event.task.id)?.row;
          if (row) row.output = `retry ${event.retry} in ${seconds(event.delayMs)}: ${event.failure.message}`;
          break;
        }
        case 'task-end': {
          const pending = rows.get(event.task.id);
          if (!pending) break;
          pending.end = event.report;
          settle(event.task.id);
          break;
        }
        case 'notice':
          // Before the run starts (waiting for another run's lock) it is said at once; once
          // listr owns the terminal, with the summary.
          if (listr === undefined) write(`${c.yellow('note')} ${event.message}\n`);
          else notices.push(`${c.yellow('note')} ${event.message}`);
          break;
        case 'run-end':
          summary = [...notices, ...failureLines(event.report, c, options), summaryLine(event.report, c)];
          break;
        default:
          unreachable(event);
      }
    },
    async close(): Promise<void> {
      await listr;
      if (summary.length > 0) write(`${summary.join('\n')}\n`);
    },
  };
}

function titleOf(task: PlanTask, c: Colors): string {
  const where = task.host === 'local' ? '' : c.dim(` on ${task.host}`);
  const emulated = task.emulated ? c.dim(` (QEMU: ${task.emulated.join(', ')})`) : '';
  return `${task.id}${where}${emulated}`;
}
