import { describe, expect, it } from 'vitest';
import { planBuild } from '../src/plan/planner.js';
import type { Plan } from '../src/plan/types.js';
import { modelOf } from './helpers.js';

function plan(text: string): Plan {
  const result = planBuild(modelOf(text));
  if (!result.ok) throw new Error(result.diagnostics.map((d) => d.message).join('\n'));
  return result.value;
}

/** Each task's timeoutMs, by id, for the tasks that have one. */
function timeouts(p: Plan): Record<string, number> {
  return Object.fromEntries(
    p.tasks.flatMap((t) => ('timeoutMs' in t && t.timeoutMs !== undefined ? [[t.id, t.timeoutMs]] : [])),
  );
}

describe('timeout: in the plan', () => {
  const spec = `version: 1
platforms: [linux/amd64, linux/arm64]
timeout: 30m
registries:
  reg: { url: registry.example.com/team }
images:
  base:
    context: base
    test: { command: ["true"] }
  app:
    context: app
    strategy: per-arch
    timeout: \${APP_TIMEOUT:-1h30m}
    test: { command: ["true"] }
`;

  it("carries the image's own timeout, else the spec's, on its builds and smoke tests only", () => {
    expect(timeouts(plan(spec))).toEqual({
      'build:base': 30 * 60_000,
      'test:base:linux/amd64': 30 * 60_000,
      'test:base:linux/arm64': 30 * 60_000,
      'build:app:linux/amd64': 90 * 60_000,
      'build:app:linux/arm64': 90 * 60_000,
      'test:app:linux/amd64': 90 * 60_000,
      'test:app:linux/arm64': 90 * 60_000,
    });
  });

  it('puts no timeout on anything without one', () => {
    expect(timeouts(plan(spec.replace('timeout: 30m\n', '').replace(/ {4}timeout: .*\n/, '')))).toEqual({});
  });
});
