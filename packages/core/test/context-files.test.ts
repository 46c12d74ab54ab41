/**
 * The rule for what a build context may hold, as the analyzer applies it to files on disk
 * (test/exec/context-upload.test.ts has the same walk sending a tar).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyze } from '../src/analyze.js';

const made: string[] = [];
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'orchestrate-context-'));
  made.push(dir);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

function mkfifo(file: string): void {
  const made = spawnSync('mkfifo', [file], { encoding: 'utf8' });
  expect(made.status, made.stderr).toBe(0);
}

const SPEC = 'version: 1\nplatforms: [linux/amd64]\nimages:\n  app:\n    context: app\n';
const analyzeIn = (cwd: string) => analyze({ cwd, env: {}, localPlatform: 'linux/amd64', localJobs: 2 });

describe('a build context on disk', () => {
  it("a FIFO in it is an error at the image's context, naming the FIFO and the ignore file to leave it out with", async () => {
    const dir = tree({ 'multiarch.yaml': SPEC, 'app/Containerfile': 'FROM scratch\n', 'app/run/.keep': '' });
    mkfifo(path.join(dir, 'app/run/events.pipe'));
    const result = await analyzeIn(dir);
    expect(result.ok).toBe(false);
    expect(result.diagnostics).toHaveLength(1);
    expect(result.diagnostics[0]).toMatchObject({
      severity: 'error',
      code: 'special-file',
      file: 'multiarch.yaml',
      range: { start: { line: 5, col: 14 } },
      message: expect.stringContaining('app/run/events.pipe (FIFO)'),
      hint: expect.stringContaining('add "run/events.pipe" to app/.containerignore'),
    });
  });

  it('one the ignore file leaves out is no problem: neither podman nor the upload sees it', async () => {
    const dir = tree({
      'multiarch.yaml': SPEC,
      'app/Containerfile': 'FROM scratch\n',
      'app/.dockerignore': 'run/*.pipe\n',
      'app/run/.keep': '',
    });
    mkfifo(path.join(dir, 'app/run/events.pipe'));
    const result = await analyzeIn(dir);
    expect(result.diagnostics).toEqual([]);
    expect(result.ok).toBe(true);
  });

  it('a containerfile that links to a file outside the context is read through the link', async () => {
    const dir = tree({
      'multiarch.yaml': `${SPEC}  base:\n    context: base\n`,
      'base/Containerfile': 'FROM scratch\n',
      'shared/app.Containerfile': 'FROM localhost/base\n',
      'app/.keep': '',
    });
    symlinkSync('../shared/app.Containerfile', path.join(dir, 'app/Containerfile'));
    const result = await analyzeIn(dir);
    expect(result.diagnostics).toEqual([]);
    expect(result.ok && result.value.model.images.find((i) => i.name === 'app')).toMatchObject({
      containerfile: 'app/Containerfile',
      dependsOn: ['base'],
    });
  });

  it('a containerfile that is not a regular file is refused, and a FIFO is not read', async () => {
    const dir = tree({ 'multiarch.yaml': `${SPEC}    containerfile: build.pipe\n`, 'app/a.txt': 'a' });
    mkfifo(path.join(dir, 'app/build.pipe'));
    const result = await analyzeIn(dir);
    expect(result.diagnostics.map((d) => [d.code, d.message])).toEqual([
      ['containerfile-not-found', 'containerfile "app/build.pipe" is not a readable regular file'],
    ]);
  });
});
