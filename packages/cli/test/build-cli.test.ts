import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { orchestrate, project } from './helpers.js';

const SPEC = `version: 1
platforms: [linux/amd64]
registries:
  local: { url: "localhost:5000/team", auth: { username: ci, passwordEnv: TEAM_TOKEN } }
images:
  app: { context: app }
`;
const files = { 'multiarch.yaml': SPEC, 'app/Containerfile': 'FROM docker.io/library/busybox:1.36\n' };

// What `build` refuses before it runs anything: no podman needed, so these run anywhere.
describe('orchestrate build, before anything runs', () => {
  it('refuses an unset password variable with exit 2, and runs nothing', async () => {
    const run = await orchestrate(['build'], { cwd: project(files) });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('TEAM_TOKEN is not set: registry local reads its password from it');
    expect(run.stderr).toContain('secret-not-set');
    expect(run.stdout).toBe('');
  });

  it('exits 2 on bad options', async () => {
    const dir = project(files);
    for (const args of [
      ['--jobs', '0'],
      ['--retries', '-1'],
      ['--output', 'yaml'],
      ['--platform', 'linux/mips99'],
      ['--registry-timeout', '60'],
      ['--registry-timeout', 'soon'],
    ]) {
      const run = await orchestrate(['build', ...args], { cwd: dir, env: { TEAM_TOKEN: 'x' } });
      expect(run.code, args.join(' ')).toBe(2);
    }
  });

  it('refuses a --report path it could not write, before anything runs (not after every tag moved)', async () => {
    const dir = project(files);
    for (const report of ['/nonexistent/r.json', dir]) {
      const run = await orchestrate(['build', '--report', report], { cwd: dir, env: { TEAM_TOKEN: 'x' } });
      expect(run.code, report).toBe(2);
      expect(run.stderr).toContain(`cannot write the report to ${report}`);
      expect(run.stderr).toContain('file-unwritable');
      expect(run.stdout).toBe('');
    }
  });

  it('--plan: runs a saved plan, refused when its Containerfile changed, its format is another, or planning options come with it', async () => {
    const dir = project(files);
    const saved = await orchestrate(['plan', '--format', 'json'], { cwd: dir });
    expect(saved.code).toBe(0);
    const plan = JSON.parse(saved.stdout) as { formatVersion: number; inputs: Record<string, string> };
    expect(Object.keys(plan.inputs)).toEqual(['app/Containerfile', 'multiarch.yaml']);
    writeFileSync(path.join(dir, 'plan.json'), saved.stdout);
    // As it is: it goes on to the checks before a run (here: the password variable is not set).
    const unchanged = await orchestrate(['build', '--plan', 'plan.json'], { cwd: dir });
    expect(unchanged.code).toBe(2);
    expect(unchanged.stderr).toContain('TEAM_TOKEN is not set');

    const mixed = await orchestrate(['build', '--plan', 'plan.json', '--image', 'app'], {
      cwd: dir,
      env: { TEAM_TOKEN: 'x' },
    });
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain('--image shapes a plan, and --plan runs one already made');

    writeFileSync(path.join(dir, 'other.json'), JSON.stringify({ ...plan, formatVersion: 99 }));
    const other = await orchestrate(['build', '--plan', 'other.json'], { cwd: dir, env: { TEAM_TOKEN: 'x' } });
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('invalid-plan');
    expect(other.stderr).toContain('the plan is of format 99; this orchestrate runs plans of format');

    const withOdd = { ...plan, tasks: [{ id: 'x', kind: 'sign', argv: [] }] };
    writeFileSync(path.join(dir, 'odd.json'), JSON.stringify(withOdd));
    const odd = await orchestrate(['build', '--plan', 'odd.json'], { cwd: dir, env: { TEAM_TOKEN: 'x' } });
    expect(odd.code).toBe(2);
    expect(odd.stderr).toContain('the plan has a task this orchestrate cannot run');

    writeFileSync(path.join(dir, 'app/Containerfile'), 'FROM docker.io/library/busybox:1.37\n');
    const changed = await orchestrate(['build', '--plan', 'plan.json'], { cwd: dir, env: { TEAM_TOKEN: 'x' } });
    expect(changed.code).toBe(2);
    expect(changed.stderr).toContain('plan-out-of-date');
    expect(changed.stderr).toContain('app/Containerfile changed since the plan was made');
  });

  it('exits 2 on a broken spec, with the diagnostics plan shows', async () => {
    const run = await orchestrate(['build'], {
      cwd: project({ ...files, 'multiarch.yaml': SPEC.replace('platforms', 'platfroms') }),
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('did you mean "platforms"?');
  });

  it('documents its options and exit codes', async () => {
    const help = await orchestrate(['build', '--help'], { cwd: '/' });
    expect(help.stdout).toContain('--keep-going');
    expect(help.stdout).toContain('--report <file>');
  });
});
