/**
 * Values at the start of a line we print (a Containerfile path in a diagnostic, a host's
 * podman path in the plan) cannot make that line a GitHub Actions workflow command.
 */
import { describe, expect, it } from 'vitest';
import { orchestrate, project } from './helpers.js';

const WORKFLOW_COMMAND = /^(?:\s|\x1b\[[0-9;]*m)*(?:::|##\[)/m;

describe('a spec whose values spell workflow commands', () => {
  const dir = project({
    'multiarch.yaml': `version: 1
platforms: [linux/arm64]
hosts:
  arm: { ssh: 'b@arm.example:22', platforms: [linux/arm64], podman: '::warning::forged' }
images:
  app:
    context: '::error::x'
    host: arm
`,
    // A short name: its warning's place, the Containerfile's path, starts the line.
    '::error::x/Containerfile': 'FROM busybox\n',
  });

  it('validate and plan print no line that starts with :: (the first ":" is written \\x3a)', async () => {
    const validate = await orchestrate(['validate'], { cwd: dir });
    expect(validate.code).toBe(0);
    expect(validate.stderr).toContain('\\x3a:error::x/Containerfile:1:6  warning  short-name-from');
    const plan = await orchestrate(['plan'], { cwd: dir });
    expect(plan.code).toBe(0);
    expect(plan.stdout).toMatch(/^ +\\x3a:warning::forged build /m);
    for (const output of [validate.stdout, validate.stderr, plan.stdout, plan.stderr])
      expect(output).not.toMatch(WORKFLOW_COMMAND);
  });
});
