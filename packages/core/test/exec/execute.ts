import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { executePlan, type ExecuteOptions, type RunEvent } from '../../src/exec/run.js';
import type { Plan } from '../../src/plan/types.js';
import type { FakePodman } from './fake-podman.js';
import { FakeRunner } from './fake-runner.js';

export const SECRET = 's3cr3t-Pa55word';

const made: string[] = [];
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

export function scratchDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'orchestrate-unit-'));
  made.push(dir);
  return dir;
}

/** A scratch TMPDIR and lock directory of a test's own: a run sweeps and locks there, not in the machine's. */
export function isolated(): { tmpDir: string; lockDir: string } {
  const tmpDir = scratchDir();
  return { tmpDir, lockDir: path.join(tmpDir, 'locks') };
}

/** Runs a plan against the in-memory podman, in a scratch directory of its own (unless `extra.tmpDir`). */
export async function execute(plan: Plan, podman: FakePodman, extra: Partial<ExecuteOptions> = {}) {
  const events: RunEvent[] = [];
  const runner = new FakeRunner(podman.script);
  const tmpDir = extra.tmpDir ?? scratchDir();
  let authfileMode: number | undefined;
  const report = await executePlan(plan, {
    cwd: '/project',
    env: { REG_PASSWORD: SECRET },
    runner,
    keepGoing: false,
    retry: { retries: 3, baseMs: 1, maxMs: 5 },
    interrupt: new AbortController().signal,
    kill: new AbortController().signal,
    onEvent: (event) => {
      events.push(event);
      if (event.type === 'task-start' && authfileMode === undefined) {
        // Two runs may share tmpDir (the lock tests): the other's directory may have no authfile yet.
        const authfile = readdirSync(tmpDir)
          .filter((entry) => entry.startsWith('orchestrate-run-'))
          .map((entry) => path.join(tmpDir, entry, 'auth.json'))
          .find((file) => existsSync(file));
        if (authfile !== undefined) authfileMode = statSync(authfile).mode & 0o777;
      }
    },
    lockDir: path.join(tmpDir, 'locks'),
    ...extra,
    tmpDir,
  });
  return { report, events, runner, tmpDir, authfileMode };
}
