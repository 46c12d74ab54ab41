import { describe, expect, it } from 'vitest';
import { PLAN_FORMAT_VERSION, type Plan } from '@multiarch/core';
import { renderPlanJson } from '../src/render/plan-json.js';
import { renderPlanDot, renderPlanMermaid } from '../src/render/plan-graph.js';

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
    { id: 'reset:app', kind: 'reset', image: 'app', platforms: [], host: 'local', dependsOn: [], argv: ['podman', 'manifest', 'rm', 'x'], list: 'x', ifNotAList: ['podman', 'rmi', 'x'] },
    { id: 'build:app', kind: 'build', image: 'app', platforms: ['linux/amd64'], host: 'local', dependsOn: ['reset:app'], argv: ['podman', 'build', '--build-arg', 'Q="a b"', '.'] },
  ],
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
});
