import { describe, expect, it, vi } from 'vitest';
import pc from 'picocolors';
import { PLAN_FORMAT_VERSION, type Plan, type PlanTask, type RunEvent, type RunReport } from '@multiarch/core';
import { linesView } from '../src/render/progress-lines.js';
import { jsonView } from '../src/render/progress-json.js';
import { listrView } from '../src/render/progress-listr.js';

const task: PlanTask = {
  id: 'build:app',
  kind: 'build',
  image: 'app',
  platforms: ['linux/arm64'],
  host: 'local',
  dependsOn: [],
  argv: ['podman', 'build'],
  placement: 'here under QEMU emulation',
};
const report: RunReport = {
  formatVersion: 1,
  runId: 'r1',
  spec: 'multiarch.yaml',
  status: 'failed',
  startedAt: '',
  endedAt: '',
  durationMs: 1234,
  jobs: 2,
  keepGoing: false,
  peak: { total: 1, hosts: { local: 1 } },
  images: { app: { status: 'failed', published: [] } },
  tasks: [
    {
      id: 'build:app',
      kind: 'build',
      image: 'app',
      platforms: ['linux/arm64'],
      host: 'local',
      status: 'failed',
      retries: 0,
      durationMs: 800,
      failure: { reason: 'emulation-missing', message: 'exec format error', hint: 'run `npm run setup`' },
    },
  ],
};
const events: RunEvent[] = [
  { type: 'task-start', task, at: new Date(0) },
  { type: 'task-output', task, line: 'STEP 1/2: FROM base', stream: 'stdout' },
  { type: 'task-end', task, report: report.tasks[0]! },
  { type: 'run-end', report },
];

/** A RUN step's output and a registry's error body that try to forge a line of ours and rewrite the one above. */
const FORGED = '\r23:59:59 ok    publish:x sha256:forged';
const REWRITE = '\x1b[1A\x1b[2K';
const hostile = (): RunEvent[] => {
  const failed = {
    ...report.tasks[0]!,
    failure: { reason: 'command-failed' as const, message: `denied${FORGED}`, hint: `retry${REWRITE}` },
  };
  const plan: Plan = {
    formatVersion: PLAN_FORMAT_VERSION,
    spec: 'multiarch.yaml',
    cwd: '.',
    inputs: {},
    localPlatform: 'linux/amd64',
    filters: { images: [], platforms: [], push: true },
    registries: {},
    hosts: { local: { kind: 'local', jobs: 2, platforms: ['linux/amd64'], emulate: true } },
    images: { app: { strategy: 'manifest-first', platforms: ['linux/arm64'], publishes: [], dependsOn: [] } },
    tasks: [task],
    secrets: {},
    notes: [],
  };
  return [
    { type: 'run-start', runId: 'r1', plan },
    { type: 'task-start', task, at: new Date(0) },
    { type: 'task-output', task, line: `STEP 2/2: RUN x${FORGED}`, stream: 'stdout' },
    { type: 'task-output', task, line: `${REWRITE}gone`, stream: 'stderr' },
    { type: 'task-end', task, report: failed },
    { type: 'run-end', report: { ...report, tasks: [failed] } },
  ];
};

describe('progress for logs', () => {
  it('prints plain timestamped lines, no escape codes, and the failure with its hint', () => {
    let out = '';
    const view = linesView((text) => (out += text), pc.createColors(false), {
      now: () => new Date('2026-11-23T10:11:12Z'),
    });
    for (const event of events) view.onEvent(event);
    const lines = out.trimEnd().split('\n');
    expect(lines.every((line) => line.startsWith('10:11:12 '))).toBe(true);
    expect(out).not.toMatch(/\u001b\[/);
    expect(lines).toContain('10:11:12 build:app | STEP 1/2: FROM base');
    expect(lines).toContain('10:11:12 FAIL  build:app 0.8s: exec format error');
    expect(lines).toContain('10:11:12       hint: run `npm run setup`');
    expect(lines.at(-1)).toBe('10:11:12 failed: 1 tasks: 0 succeeded, 1 failed; app failed in 1.2s (run r1)');
  });

  it("under --verbose, the tool's own output under the failure, escaped; without it, the words only", () => {
    const raw = ['STEP 2/2: RUN /bin/true', `Error: exec format error${REWRITE}`];
    const withOutput: RunReport = {
      ...report,
      tasks: [{ ...report.tasks[0]!, failure: { ...report.tasks[0]!.failure!, output: raw } }],
    };
    const summary = (verbose: boolean): string[] => {
      let out = '';
      const view = linesView((text) => (out += text), pc.createColors(false), { now: () => new Date(0), verbose });
      view.onEvent({ type: 'run-end', report: withOutput });
      return out.trimEnd().split('\n');
    };
    expect(summary(true)).toEqual(
      expect.arrayContaining([
        '00:00:00   | STEP 2/2: RUN /bin/true',
        '00:00:00   | Error: exec format error\\x1b[1A\\x1b[2K',
      ]),
    );
    expect(summary(false).join('\n')).not.toContain('STEP 2/2');
  });

  it('shows control characters from podman and registries instead of obeying them', () => {
    let out = '';
    const view = linesView((text) => (out += text), pc.createColors(false), {
      now: () => new Date('2026-11-23T10:11:12Z'),
    });
    for (const event of hostile()) view.onEvent(event);
    expect(out).not.toMatch(/[\r\x1b]/);
    const lines = out.trimEnd().split('\n');
    expect(lines.every((line) => line.startsWith('10:11:12 '))).toBe(true);
    expect(lines.filter((line) => line.includes('23:59:59')).every((line) => line.includes('\\r23:59:59'))).toBe(true);
    expect(lines).toContain('10:11:12 build:app | \\x1b[1A\\x1b[2Kgone');
    expect(lines).toContain('10:11:12       hint: retry\\x1b[1A\\x1b[2K');
  });

  it('prints one JSON object per event for machines, the report last', () => {
    let out = '';
    const view = jsonView((text) => (out += text));
    for (const event of events) view.onEvent(event);
    const parsed = out
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; report?: RunReport });
    expect(parsed.map((e) => e.type)).toEqual(['task-start', 'task-output', 'task-end', 'run-end']);
    expect(parsed.at(-1)?.report?.status).toBe('failed');
  });
});

describe('progress in a terminal', () => {
  it('draws the values escaped: listr2 moves the cursor, podman output does not', async () => {
    let drawn = '';
    const spy = vi
      .spyOn(process.stdout, 'write')
      .mockImplementation((chunk: string | Uint8Array) => ((drawn += String(chunk)), true));
    let summary = '';
    try {
      const view = listrView((text) => (summary += text), pc.createColors(false));
      for (const event of hostile()) {
        view.onEvent(event);
        await new Promise((resolve) => setTimeout(resolve, 20)); // as a run does: listr2 draws in between
      }
      await view.close();
    } finally {
      spy.mockRestore();
    }
    for (const text of [drawn, summary]) {
      expect(text).not.toContain(FORGED);
      expect(text).not.toContain(REWRITE);
    }
    expect(drawn).toContain('\\r23:59:59');
    expect(summary).toContain(`denied\\r23:59:59 ok    publish:x sha256:forged`);
    expect(summary).toContain('hint: retry\\x1b[1A\\x1b[2K');
  });
});
