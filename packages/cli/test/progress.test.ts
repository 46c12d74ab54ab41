import { describe, expect, it } from 'vitest';
import pc from 'picocolors';
import type { PlanTask, RunEvent, RunReport } from '@multiarch/core';
import { linesView } from '../src/render/progress-lines.js';
import { jsonView } from '../src/render/progress-json.js';

const task: PlanTask = { id: 'build:app', kind: 'build', image: 'app', platforms: ['linux/arm64'], host: 'local', dependsOn: [], argv: ['podman', 'build'], placement: 'here under QEMU emulation' };
const report: RunReport = {
  formatVersion: 1, runId: 'r1', spec: 'multiarch.yaml', status: 'failed', startedAt: '', endedAt: '', durationMs: 1234, jobs: 2, keepGoing: false,
  peak: { total: 1, hosts: { local: 1 } }, images: { app: { status: 'failed', published: [] } },
  tasks: [{ id: 'build:app', kind: 'build', image: 'app', platforms: ['linux/arm64'], host: 'local', status: 'failed', retries: 0, durationMs: 800, failure: { reason: 'emulation-missing', message: 'exec format error', hint: 'run `npm run setup`' } }],
};
const events: RunEvent[] = [
  { type: 'task-start', task, at: new Date(0) },
  { type: 'task-output', task, line: 'STEP 1/2: FROM base', stream: 'stdout' },
  { type: 'task-end', task, report: report.tasks[0]! },
  { type: 'run-end', report },
];

describe('progress for logs', () => {
  it('prints plain timestamped lines, no escape codes, and the failure with its hint', () => {
    let out = '';
    const view = linesView((text) => (out += text), pc.createColors(false), () => new Date('2026-11-23T10:11:12Z'));
    for (const event of events) view.onEvent(event);
    const lines = out.trimEnd().split('\n');
    expect(lines.every((line) => line.startsWith('10:11:12 '))).toBe(true);
    expect(out).not.toMatch(/\u001b\[/);
    expect(lines).toContain('10:11:12 build:app | STEP 1/2: FROM base');
    expect(lines).toContain('10:11:12 FAIL  build:app 0.8s: exec format error');
    expect(lines).toContain('10:11:12       hint: run `npm run setup`');
    expect(lines.at(-1)).toBe('10:11:12 failed: 1 tasks: 0 succeeded, 1 failed; app failed in 1.2s (run r1)');
  });

  it('prints one JSON object per event for machines, the report last', () => {
    let out = '';
    const view = jsonView((text) => (out += text));
    for (const event of events) view.onEvent(event);
    const parsed = out.trimEnd().split('\n').map((line) => JSON.parse(line) as { type: string; report?: RunReport });
    expect(parsed.map((e) => e.type)).toEqual(['task-start', 'task-output', 'task-end', 'run-end']);
    expect(parsed.at(-1)?.report?.status).toBe('failed');
  });
});
