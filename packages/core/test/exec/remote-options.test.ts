/**
 * The commands a build host runs, with every path named like an option: run by a real `sh`
 * in a directory standing in for the remote home, each must do what it says to exactly the
 * paths it was given (a directory named `-rf` is removed, not read as a flag of rm).
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  controlArgs,
  killTreeCommand,
  masterArgs,
  readFileCommand,
  remoteCommand,
  remoteRunDir,
  removeRunDirCommand,
  RUN_DIRS_MARKER,
  sessionArgs,
  setupCommand,
  SHELL_PROBE,
  type SshTarget,
} from '../../src/exec/ssh.js';

const run = promisify(execFile);
const homes: string[] = [];
afterAll(() => {
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});
function home(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'orchestrate-remote-options-'));
  homes.push(dir);
  return dir;
}

/** A file name that starts with "-", with shell characters in it too (no "/", no NUL). */
const dashName = fc
  .tuple(fc.constantFrom('-', '--', '-rf', '--help'), fc.stringMatching(/^[A-Za-z0-9 ._=:'"$;*-]{0,8}$/))
  .map(([dash, rest]) => dash + rest)
  .filter((name) => name !== '-' && name !== '--');

function sh(command: string, cwd: string, input = ''): { status: number | null; stdout: string; stderr: string } {
  return spawnSync('sh', ['-c', command], { cwd, input, encoding: 'utf8' });
}

describe('remote commands with paths named like options', () => {
  it('readFileCommand reads the file in the directory, both named "-..."', () => {
    fc.assert(
      fc.property(dashName, dashName, (dir, file) => {
        const at = home();
        mkdirSync(path.join(at, dir));
        writeFileSync(path.join(at, dir, file), 'sha256:abc\n');
        const out = sh(readFileCommand(dir, file), at);
        expect(out.stderr).toBe('');
        expect(out.stdout).toBe('sha256:abc\n');
      }),
      { numRuns: 25 },
    );
  });

  it('removeRunDirCommand removes exactly the directories named, and nothing beside them', () => {
    fc.assert(
      fc.property(fc.uniqueArray(dashName, { minLength: 1, maxLength: 3 }), (dirs) => {
        const at = home();
        for (const dir of dirs) mkdirSync(path.join(at, dir, 'inner'), { recursive: true });
        mkdirSync(path.join(at, 'keep'));
        const out = sh(removeRunDirCommand(...dirs), at);
        expect(out.status, out.stderr).toBe(0);
        expect(readdirSync(at)).toEqual(['keep']);
      }),
      { numRuns: 25 },
    );
  });

  it('setupCommand makes the run directory under a workdir named "-...", and lists the runs beside it with their owners', () => {
    fc.assert(
      fc.property(dashName, (workdir) => {
        const at = home();
        mkdirSync(path.join(at, workdir, 'run-old-h'), { recursive: true });
        writeFileSync(path.join(at, workdir, 'run-old-h', 'owner'), 'machine 1 1\n');
        const runDir = `${workdir}/run-new-h`;
        const out = sh(setupCommand(runDir, 'machine 2 1'), at, '{"auths":{}}');
        expect(out.status, out.stderr).toBe(0);
        expect(readFileSync(path.join(at, runDir, 'auth.json'), 'utf8')).toBe('{"auths":{}}');
        const [probe, listing] = out.stdout.split(RUN_DIRS_MARKER);
        expect(probe).toBe(SHELL_PROBE);
        expect(listing).toContain(`${workdir}/run-old-h/\tmachine 1 1\n`);
        expect(out.stderr).toBe('');
      }),
      { numRuns: 25 },
    );
  });

  it('remoteCommand runs in a directory named "-..." and passes every argument as written', () => {
    fc.assert(
      fc.property(dashName, dashName, fc.array(dashName, { minLength: 1, maxLength: 3 }), (dir, pidFile, args) => {
        const at = home();
        mkdirSync(path.join(at, dir));
        const echo = ['sh', '-c', 'printf "[%s]" "$@"', 'sh', ...args];
        const out = sh(remoteCommand(dir, echo, pidFile), at);
        expect(out.status, out.stderr).toBe(0);
        expect(out.stdout).toBe(args.map((a) => `[${a}]`).join(''));
        expect(existsSync(path.join(at, dir, pidFile))).toBe(true);
      }),
      { numRuns: 25 },
    );
  });

  it('killTreeCommand stops the process whose pid is in a file named "-..."', async () => {
    const at = home();
    const dir = '-rf x';
    const pidFile = '--pid';
    mkdirSync(path.join(at, dir));
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    const ended = new Promise<NodeJS.Signals | null>((resolve) =>
      sleeper.on('exit', (_code, signal) => resolve(signal)),
    );
    writeFileSync(path.join(at, dir, pidFile), `${sleeper.pid}\n`);
    // Not spawnSync: the event loop must reap the stopped sleep, or it lingers as a zombie that kill -0 still finds.
    const { stderr } = await run('sh', ['-c', killTreeCommand(dir, pidFile)], { cwd: at });
    expect(stderr).toBe('');
    expect(await ended).toBe('SIGTERM');
    expect(existsSync(path.join(at, dir, `${pidFile}.cancel`))).toBe(true);
  });

  it('a workdir under ~ whose name starts with "-" becomes a ./ path', () => {
    expect(remoteRunDir('~/-x', 'ID', 'arm')).toBe('./-x/run-ID-arm');
    expect(remoteRunDir('~/--', 'ID', 'arm')).toBe('./--/run-ID-arm');
  });

  it('ssh command lines end their options before the host', () => {
    const target: SshTarget = {
      name: 'arm',
      user: 'builder',
      host: '-oProxyCommand=x',
      port: 22,
      connectTimeout: 10,
      controlPath: '/run/x/ssh-0',
    };
    for (const argv of [masterArgs(target), controlArgs(target, 'check')])
      expect(argv.slice(-2)).toEqual(['--', target.host]);
    expect(sessionArgs(target, 'true').slice(-3)).toEqual(['--', target.host, 'true']);
  });
});
