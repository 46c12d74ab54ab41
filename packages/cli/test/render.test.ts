import { describe, expect, it } from 'vitest';
import pc from 'picocolors';
import { PLAN_FORMAT_VERSION, type Diagnostic, type Plan } from '@multiarch/core';
import { renderPlanJson } from '../src/render/plan-json.js';
import { renderPlanDot, renderPlanMermaid } from '../src/render/plan-graph.js';
import { renderPlanText } from '../src/render/plan-text.js';
import { lineIndex, renderDiagnostics } from '../src/render/diagnostics.js';

const plan: Plan = {
  formatVersion: PLAN_FORMAT_VERSION,
  spec: 'multiarch.yaml',
  cwd: '.',
  inputs: { 'multiarch.yaml': 'sha256:0' },
  localPlatform: 'linux/amd64',
  filters: { images: [], platforms: [], push: true },
  registries: {},
  hosts: { local: { kind: 'local', jobs: 2, platforms: ['linux/amd64'], emulate: true } },
  images: { app: { strategy: 'manifest-first', platforms: ['linux/amd64'], publishes: [], dependsOn: [] } },
  tasks: [
    {
      id: 'reset:app',
      kind: 'reset',
      image: 'app',
      platforms: [],
      host: 'local',
      dependsOn: [],
      argv: ['podman', 'manifest', 'rm', 'x'],
      list: 'x',
      ifNotAList: ['podman', 'rmi', 'x'],
    },
    {
      id: 'build:app',
      kind: 'build',
      image: 'app',
      platforms: ['linux/amd64'],
      host: 'local',
      dependsOn: ['reset:app'],
      argv: ['podman', 'build', '--build-arg', 'Q="a b"', '.'],
    },
  ],
  secrets: {},
  notes: ['a "quoted" note'],
};

describe('plan renderers', () => {
  it('json: the same plan back, one task per line', () => {
    const text = renderPlanJson(plan);
    expect(JSON.parse(text)).toEqual(plan);
    const taskLines = text.split('\n').filter((line) => line.trimStart().startsWith('{"id":'));
    expect(taskLines).toHaveLength(plan.tasks.length);
    expect(text.endsWith('}\n')).toBe(true);
  });

  it('mermaid and dot: every task a node, every dependency an edge, labels escaped', () => {
    const mermaid = renderPlanMermaid(plan);
    expect(mermaid).toContain('t0 --> t1');
    expect(mermaid).toContain('subgraph img0["app"]');
    const dot = renderPlanDot(plan);
    expect(dot).toContain('"reset:app" -> "build:app";');
    expect(dot).toContain('label="build:app\\nlocal"');
  });

  it("text: a build's timeout on its line, none where there is none", () => {
    const build = plan.tasks[1]!;
    if (build.kind !== 'build') throw new Error('the fixture plan has changed');
    const timed: Plan = { ...plan, tasks: [plan.tasks[0]!, { ...build, timeoutMs: 90 * 60_000 }] };
    const line = (p: Plan) =>
      renderPlanText(p, pc.createColors(false))
        .split('\n')
        .find((l) => l.includes('build:app'));
    expect(line(timed)).toContain('stopped after 90m');
    expect(line(plan)).not.toContain('stopped after');
  });
});

describe('plan views of hostile values', () => {
  const hostile: Plan = {
    ...plan,
    images: { app: { ...plan.images['app']!, publishes: ['docker.io/acme/app:ok\n::error::tag'] } },
    tasks: [
      { ...plan.tasks[1]!, dependsOn: [], argv: ['podman', 'run', 'x', 'sh', '-c', 'echo ok\n::error::forged\r'] },
    ],
    notes: ['note\u2028::error::note'],
  };

  it("text: every value on its own line escaped, commands in $'...' so they still paste", () => {
    const text = renderPlanText(hostile, pc.createColors(false));
    expect(text.split('\n').filter((line) => line.startsWith('::'))).toEqual([]);
    expect(text).not.toMatch(/[\r\u2028]/);
    expect(text).toContain("sh -c $'echo ok\\n::error::forged\\r'");
    expect(text).toContain('-> docker.io/acme/app:ok\\n::error::tag');
    expect(text).toContain('  - note\\u2028::error::note');
  });

  it('mermaid and dot: a control character in a label cannot end it', () => {
    const odd: Plan = {
      ...plan,
      images: { 'a\nb': plan.images['app']! },
      tasks: plan.tasks.map((t) => ({ ...t, image: 'a\nb', host: 'h\r"x' })),
    };
    const mermaid = renderPlanMermaid(odd);
    expect(mermaid).toContain('subgraph img0["a\\nb"]');
    expect(mermaid).toContain('t1["build:app<br/>h\\r#quot;x"]');
    const dot = renderPlanDot(odd);
    expect(dot).toContain('label="a\\\\nb";');
    expect(dot).toContain('[label="build:app\\nh\\\\r\\"x"];');
    // The same lines as for plain values: nothing ended a label or a line early.
    expect(mermaid.split('\n')).toHaveLength(renderPlanMermaid(plan).split('\n').length);
    expect(dot.split('\n')).toHaveLength(renderPlanDot(plan).split('\n').length);
    for (const text of [mermaid, dot]) expect(text).not.toContain('\r');
  });
});

describe('diagnostics', () => {
  const c = pc.createColors(false);
  const error = (line: number, message = 'unknown key "x"'): Diagnostic => ({
    severity: 'error',
    code: 'unknown-key',
    message,
    file: 'multiarch.yaml',
    range: { start: { line, col: 3 }, end: { line, col: 4 } },
    hint: 'did you mean "y"?',
  });

  it('shows the first 100 in full, then counts the rest; the summary counts every one', () => {
    const text = Array.from({ length: 160 }, (_, i) => `  x${i}: 1`).join('\n');
    const diagnostics = [
      ...Array.from({ length: 150 }, (_, i) => error(i + 1)),
      ...Array.from({ length: 10 }, (_, i) => ({ ...error(151 + i), severity: 'warning' as const })),
    ];
    const out = renderDiagnostics(diagnostics, () => text, c);
    const lines = out.split('\n');
    expect(lines.filter((line) => /^multiarch\.yaml:\d+:3  error  unknown-key/.test(line))).toHaveLength(100);
    expect(lines.filter((line) => /^  \d+ \| /.test(line))).toHaveLength(100);
    expect(lines).toContain('  100 |   x99: 1');
    expect(lines).toContain(
      '... and 50 more errors, 10 more warnings (orchestrate validate --format json lists them all)',
    );
    expect(lines.at(-2)).toBe('150 errors, 10 warnings');
    expect(renderDiagnostics(diagnostics.slice(0, 3), () => text, c)).not.toContain('... and');
  });

  it('reads each file once, however many diagnostics point into it', () => {
    let reads = 0;
    renderDiagnostics(
      Array.from({ length: 50 }, (_, i) => error(i + 1)),
      () => (reads++, 'a: 1\n'.repeat(50)),
      c,
    );
    expect(reads).toBe(1);
  });

  it('escapes the message, the hint and the line, and keeps the carets under the range', () => {
    const source = 'tags: ["\x1b[2K", "ok\rx"]\n';
    const d: Diagnostic = {
      ...error(1, '"ok\n::error::forged" is not a valid tag'),
      range: { start: { line: 1, col: 16 }, end: { line: 1, col: 22 } },
      hint: 'a tag\u2028::error::hint',
    };
    const lines = renderDiagnostics([d], () => source, c).split('\n');
    expect(lines.filter((line) => line.startsWith('::'))).toEqual([]);
    expect(lines[0]).toBe('multiarch.yaml:1:16  error  unknown-key  "ok\\n::error::forged" is not a valid tag');
    expect(lines[1]).toBe('  1 | tags: ["\\x1b[2K", "ok\\rx"]');
    // Under `"ok\rx"`, after the 18 characters `tags: ["\x1b[2K", ` takes once escaped.
    expect(lines[2]).toBe(`    | ${' '.repeat(18)}^^^^^^^`);
    expect(lines[3]).toBe('  hint: a tag\\u2028::error::hint');
  });
});

describe('lineIndex', () => {
  it('finds lines as split(/\\r?\\n/) does, past the end none', () => {
    for (const text of ['', 'a', 'a\nb', 'a\r\nb\r\n', '\n\n', 'a\rb\nc\r', 'x\r\n\r\ny']) {
      const index = lineIndex(text);
      const lines = text.split(/\r?\n/);
      lines.forEach((line, i) => expect(index.line(i + 1), JSON.stringify(text)).toBe(line));
      expect(index.line(lines.length + 1)).toBeUndefined();
      expect(index.line(0)).toBeUndefined();
    }
  });
});
