/**
 * `--output json`: one JSON object per line per event, for machines. The last line is
 * the run's report. Task events name the task by id; the plan came first in run-start.
 */
import { unreachable, type RunEvent } from '@multiarch/core';
import type { ProgressView } from './progress.js';

export function jsonView(write: (text: string) => void, now: () => Date = () => new Date()): ProgressView {
  const emit = (value: object): void => write(`${JSON.stringify({ time: now().toISOString(), ...value })}\n`);
  return {
    onEvent(event: RunEvent): void {
      switch (event.type) {
        case 'run-start':
          emit({ type: event.type, runId: event.runId, plan: event.plan });
          break;
        case 'task-start':
          emit({ type: event.type, task: event.task.id });
          break;
        case 'task-output':
          emit({ type: event.type, task: event.task.id, stream: event.stream, line: event.line });
          break;
        case 'task-retry':
          emit({
            type: event.type,
            task: event.task.id,
            retry: event.retry,
            delayMs: event.delayMs,
            failure: event.failure,
          });
          break;
        case 'task-end':
          emit({ type: event.type, task: event.task.id, report: event.report });
          break;
        case 'notice':
          emit({ type: event.type, message: event.message });
          break;
        case 'run-end':
          emit({ type: event.type, report: event.report });
          break;
        default:
          unreachable(event);
      }
    },
    close: async () => {},
  };
}
