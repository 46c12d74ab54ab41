import { describe, expect, it } from 'vitest';
import { orchestrate, project } from './helpers.js';

// What doctor refuses before it probes anything: no podman needed, so these run anywhere.
describe('orchestrate doctor, before it probes', () => {
  it('exits 2 with the diagnostics on a broken spec, and on a bad --output', async () => {
    const dir = project({ 'multiarch.yaml': 'version: 1\nimages:\n  app: { contxt: app }\n' });
    const broken = await orchestrate(['doctor'], { cwd: dir });
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('unknown-key');
    expect(broken.stdout).toBe('');
    const output = await orchestrate(['doctor', '--output', 'yaml'], { cwd: dir });
    expect(output.code).toBe(2);
  });

  it('is in the help, with its exit codes', async () => {
    const help = await orchestrate(['doctor', '--help'], { cwd: project({}) });
    expect(help.code).toBe(0);
    expect(help.stdout.replace(/\s+/g, ' ')).toContain('Exit 0 if nothing failed, 1 if a check failed');
    expect(help.stdout).toContain('--output <format>');
  });
});
