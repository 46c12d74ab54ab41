import { describe, expect, it } from 'vitest';
import { orchestrate, project } from './helpers.js';

const SPEC = `version: 1
platforms: [linux/amd64, linux/arm64]
registries:
  local:
    url: localhost:5000/team
images:
  app:
    context: app
`;

describe('orchestrate', () => {
  it('prints its version and help, exit 0', async () => {
    const version = await orchestrate(['--version'], { cwd: '/' });
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+/);
    const help = await orchestrate(['plan', '--help'], { cwd: '/' });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--format <format>');
  });

  it('exits 2 on an unknown option or command', async () => {
    expect((await orchestrate(['plan', '--frobnicate'], { cwd: '/' })).code).toBe(2);
    expect((await orchestrate(['plna'], { cwd: '/' })).code).toBe(2);
    expect((await orchestrate(['plan', '--format', 'yaml'], { cwd: '/' })).code).toBe(2);
  });

  it('finds multiarch.yaml upward from a subdirectory', async () => {
    const dir = project({ 'multiarch.yaml': SPEC, 'app/Containerfile': 'FROM docker.io/library/busybox\n' });
    const run = await orchestrate(['plan', '--format', 'json', '--local-platform', 'linux/amd64'], { cwd: `${dir}/app` });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const plan = JSON.parse(run.stdout);
    expect(plan.spec).toBe(`${dir}/multiarch.yaml`);
    expect(plan.tasks.map((t: { id: string }) => t.id)).toContain('build:app');
  });

  it('says where no spec is, exit 2', async () => {
    const dir = project({ 'README.md': 'nothing here\n' });
    const run = await orchestrate(['plan'], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('config-not-found');
    expect(run.stderr).toContain('--config');
  });

  it('says which file broke the search for a spec, exit 2', async () => {
    const dir = project({ 'package.json': '{ "name": ', 'sub/.keep': '' });
    const run = await orchestrate(['plan'], { cwd: `${dir}/sub` });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${dir}/package.json  error  file-unreadable`);
  });

  it('checks --local-platform, and spells it as podman does', async () => {
    const dir = project({ 'multiarch.yaml': SPEC, 'app/Containerfile': 'FROM docker.io/library/busybox\n' });
    expect((await orchestrate(['plan', '--local-platform', 'bogus'], { cwd: dir })).code).toBe(2);
    const run = await orchestrate(['plan', '--format', 'json', '--local-platform', 'linux/aarch64'], { cwd: dir });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).localPlatform).toBe('linux/arm64');
  });
});
