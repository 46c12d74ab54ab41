/**
 * What the end-to-end tests share: whether they can run here (under CI=true they must),
 * the CLI run as a real process that can be interrupted, and registry checks with skopeo.
 */
import { spawn, execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BIN, REPO } from '../paths.js';
import { run, type Registry } from './fixture/registry.js';

/** Why the e2e suite cannot run here, or undefined when it can. Under CI=true a reason is a failure, not a skip. */
export function e2eUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'the end-to-end tests run podman as root: run them as root (CI does)';
  try {
    execFileSync('podman', ['--version'], { stdio: 'ignore' });
    execFileSync('docker-registry', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'podman or docker-registry is missing: run `npm run setup`';
  }
  return undefined;
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliProcess {
  pid: number;
  /** Resolves when a line of output matches. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  signal(signal: NodeJS.Signals): void;
  done: Promise<CliRun>;
  /** Everything printed so far. */
  output(): string;
}

/** The built CLI in its own process, as a user (or CI) runs it: no TTY, so plain lines. */
export function startCli(args: readonly string[], options: { cwd: string; env: Record<string, string> }): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '/root',
      NO_COLOR: '1',
      CI: 'true',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const check = (): void => {
    for (const waiter of [...waiters]) {
      const line = `${stdout}\n${stderr}`.split('\n').find((l) => waiter.pattern.test(l));
      if (line !== undefined) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    check();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    check();
  });
  const done = new Promise<CliRun>((resolve) =>
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr })),
  );
  return {
    pid: child.pid!,
    waitFor: (pattern, timeoutMs = 120_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no line matched ${pattern} in ${timeoutMs} ms:\n${stdout}\n${stderr}`)),
          timeoutMs,
        );
        waiters.push({
          pattern,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
        check();
      }),
    signal: (signal) => child.kill(signal),
    done,
    output: () => `${stdout}\n${stderr}`,
  };
}

export function orchestrateBuild(
  args: readonly string[],
  options: { cwd: string; env: Record<string, string> },
): Promise<CliRun> {
  return startCli(['build', ...args], options).done;
}

/** An example copied to a scratch directory, so a test may change it. */
export function copyExample(name: string, dir: string): string {
  const target = path.join(dir, name);
  cpSync(path.join(REPO, 'examples', name), target, { recursive: true });
  return target;
}

const scratchDirs: string[] = [];

/** A directory for one test; removeScratch() removes them all. */
export function scratch(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `orchestrate-e2e-${prefix}-`));
  scratchDirs.push(dir);
  return dir;
}

export function removeScratch(): void {
  for (const dir of scratchDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** An authfile for the checks the tests make themselves (the run's own is gone by then). */
export async function checkerAuthfile(registry: Registry, dir: string): Promise<string> {
  const file = path.join(dir, 'checker-auth.json');
  await run(
    'podman',
    ['login', '--authfile', file, '--username', registry.username, '--password-stdin', registry.host],
    { input: registry.password },
  );
  return file;
}

export interface ListEntry {
  digest: string;
  platform: string;
}

/** The list a tag points at, read with skopeo: its digest and its per-platform entries. */
export async function inspectList(
  reference: string,
  authfile: string,
): Promise<{ digest: string; entries: ListEntry[] } | undefined> {
  const raw = await run('skopeo', ['inspect', '--raw', '--authfile', authfile, `docker://${reference}`], {
    allowFailure: true,
  });
  if (raw.code !== 0) return undefined;
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'orchestrate-e2e-manifest-')), 'manifest.json');
  writeFileSync(file, raw.stdout);
  const digest = await run('skopeo', ['manifest-digest', file]);
  rmSync(path.dirname(file), { recursive: true, force: true });
  const list = JSON.parse(raw.stdout) as {
    manifests?: { digest: string; platform: { os: string; architecture: string; variant?: string } }[];
  };
  return {
    digest: digest.stdout.trim(),
    entries: (list.manifests ?? []).map((m) => ({
      digest: m.digest,
      platform: `${m.platform.os}/${m.platform.architecture}`,
    })),
  };
}

// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller says what the file holds
export function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

/** Processes whose command line holds `text`, but for the ps that looked. */
export function processesMatching(text: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.includes(text) && !line.includes('ps -eo'));
}

/** Processes running one of `commands` whose environment holds `text` (a secret must reach podman, skopeo and ssh only on stdin). */
export function environmentsHolding(text: string, commands: readonly string[]): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      if (commands.includes(comm) && readFileSync(`/proc/${entry}/environ`, 'utf8').includes(text))
        found.push(`${entry} ${comm}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}
