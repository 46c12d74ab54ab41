import { execFile, spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, orchestrate, project, type Run } from './helpers.js';

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
    const run = await orchestrate(['plan', '--format', 'json', '--local-platform', 'linux/amd64'], {
      cwd: `${dir}/app`,
    });
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

  it('refuses an empty --platform or --image (they used to mean no filter at all), exit 2', async () => {
    const dir = project({ 'multiarch.yaml': SPEC, 'app/Containerfile': 'FROM docker.io/library/busybox\n' });
    for (const args of [
      ['--platform', ''],
      ['--platform', 'linux/amd64,'],
      ['--platform', 'linux/amd64,,linux/arm64'],
      ['--image', ''],
      ['--image', ' '],
    ]) {
      const run = await orchestrate(['plan', '--local-platform', 'linux/amd64', ...args], { cwd: dir });
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stdout, args.join(' ')).toBe('');
      expect(run.stderr, args.join(' ')).toMatch(
        new RegExp(`option '${args[0]} <\\w+>' argument .* is invalid\\. .*empty`),
      );
    }
    const malformed = await orchestrate(['build', '--local-platform', 'linux/amd64', '--platform', 'linux'], {
      cwd: dir,
    });
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('invalid-platform  --platform linux: "linux" is not os/arch or os/arch/variant');
  });

  it('validate reports a FIFO in a build context with its place, and a FIFO containerfile without blocking on it', async () => {
    const dir = project({
      'multiarch.yaml': SPEC,
      'app/Containerfile': 'FROM docker.io/library/busybox\n',
      'app/run/.keep': '',
    });
    mkfifo(path.join(dir, 'app/run/events.pipe'));
    const run = await orchestrateWithin(['validate'], dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      'multiarch.yaml:8:14  error  special-file  build context "app" holds a file that is not a regular file, directory or symlink: app/run/events.pipe (FIFO)',
    );
    expect(run.stderr).toContain(
      'hint: remove it, or leave it out of the context: add "run/events.pipe" to app/.containerignore',
    );

    const fifo = project({ 'multiarch.yaml': `${SPEC}    containerfile: build.pipe\n`, 'app/.keep': '' });
    mkfifo(path.join(fifo, 'app/build.pipe'));
    const blocked = await orchestrateWithin(['validate'], fifo);
    expect(blocked.code).toBe(2);
    expect(blocked.stderr).toContain('containerfile "app/build.pipe" is not a readable regular file');
  });
});

function mkfifo(file: string): void {
  const made = spawnSync('mkfifo', [file], { encoding: 'utf8' });
  expect(made.status, made.stderr).toBe(0);
}

/** Like orchestrate(), but killed after 15 s: reading a FIFO would block it for ever. */
function orchestrateWithin(args: readonly string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd, env: { PATH: process.env['PATH'] ?? '', NO_COLOR: '1' }, timeout: 15_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}
