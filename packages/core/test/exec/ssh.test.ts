import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  controlArgs,
  diagnoseSsh,
  KILL_TREE_SCRIPT,
  killTreeCommand,
  masterArgs,
  readFileCommand,
  remoteCommand,
  remoteRunDir,
  removeRunDirCommand,
  sessionArgs,
  setupCommand,
  RUN_DIRS_MARKER,
  SHELL_PROBE,
  type SshTarget,
} from '../../src/exec/ssh.js';
import { deadRemoteRunDirs, ownerStamp } from '../../src/exec/leftovers.js';

const TARGET: SshTarget = {
  name: 'arm',
  user: 'ci',
  host: 'arm.example.com',
  port: 2222,
  connectTimeout: 7,
  controlPath: '/tmp/orchestrate-run-x/ssh-0',
};

const made: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'orchestrate-ssh-'));
  made.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The value of each `-o Name=value` in argv, by name. */
function options(argv: readonly string[]): Map<string, string[]> {
  const found = new Map<string, string[]>();
  argv.forEach((arg, i) => {
    if (arg !== '-o') return;
    const [name, ...rest] = (argv[i + 1] ?? '').split('=');
    found.set(name!, [...(found.get(name!) ?? []), rest.join('=')]);
  });
  return found;
}

/** What OpenSSH itself makes of the options (ssh -G prints its configuration and exits, connecting to nothing). */
function sshConfig(argv: readonly string[]): Map<string, string> {
  const [ssh, ...rest] = argv;
  expect(ssh).toBe('ssh');
  const out = spawnSync('ssh', ['-G', ...rest], { encoding: 'utf8', env: { ...process.env, HOME: tempDir() } });
  expect(out.status, out.stderr).toBe(0);
  return new Map(
    out.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => [line.slice(0, line.indexOf(' ')), line.slice(line.indexOf(' ') + 1)]),
  );
}
/** Async, so this process can reap the tree's root (its own child) while the script runs. */
const shAsync = (args: string[], cwd?: string) =>
  promisify(execFile)('sh', args, { encoding: 'utf8', timeout: 15_000, ...(cwd !== undefined && { cwd }) }).then(
    ({ stdout, stderr }) => ({ status: 0, stdout, stderr }),
    (error: unknown) => {
      const failed = error as { code?: number; stderr?: string };
      return { status: failed.code ?? -1, stdout: '', stderr: failed.stderr ?? '' };
    },
  );
const hasSsh = spawnSync('ssh', ['-V']).status === 0;

describe('ssh command lines', () => {
  it('opens the master: batch mode, strict host keys, timeouts, the control socket, forked once authenticated', () => {
    const argv = masterArgs(TARGET);
    expect(argv[0]).toBe('ssh');
    const o = options(argv);
    expect(o.get('BatchMode')).toEqual(['yes']);
    expect(o.get('StrictHostKeyChecking')).toEqual(['yes']);
    expect(o.get('ConnectTimeout')).toEqual(['7']);
    expect(o.get('ControlPath')).toEqual(['"/tmp/orchestrate-run-x/ssh-0"']);
    expect(o.get('ControlMaster')).toEqual(['yes']);
    expect(o.get('ControlPersist')?.[0]).toMatch(/^\d+$/);
    expect(Number(o.get('ServerAliveInterval')?.[0])).toBeGreaterThan(0);
    expect(Number(o.get('ServerAliveCountMax')?.[0])).toBeGreaterThan(0);
    // -f -N: no command, into the background once authenticated.
    expect(argv).toContain('-f');
    expect(argv).toContain('-N');
    expect(argv.slice(argv.indexOf('-p'), argv.indexOf('-p') + 2)).toEqual(['-p', '2222']);
    expect(argv.slice(argv.indexOf('-l'), argv.indexOf('-l') + 2)).toEqual(['-l', 'ci']);
    // The host last, after "--": it can never be read as an option.
    expect(argv.slice(-2)).toEqual(['--', 'arm.example.com']);
    expect(argv.indexOf('--')).toBe(argv.length - 2);
    // No identity or known_hosts of our own unless the spec names them.
    expect(o.has('IdentityFile')).toBe(false);
    expect(o.has('UserKnownHostsFile')).toBe(false);
  });

  it('runs a session through the master, never becoming one, with the command as the one last word', () => {
    const argv = sessionArgs(TARGET, 'cd -- x && exec true', '/tmp/orchestrate-run-x/ssh-0.1.log');
    // ssh's own messages go to a log of their own, apart from the command's stderr.
    expect(argv.slice(argv.indexOf('-E'), argv.indexOf('-E') + 2)).toEqual([
      '-E',
      '/tmp/orchestrate-run-x/ssh-0.1.log',
    ]);
    const o = options(argv);
    expect(o.get('ControlMaster')).toEqual(['no']);
    expect(o.get('ControlPath')).toEqual(['"/tmp/orchestrate-run-x/ssh-0"']);
    expect(o.get('BatchMode')).toEqual(['yes']);
    expect(o.get('StrictHostKeyChecking')).toEqual(['yes']);
    expect(argv).toContain('-T');
    expect(argv).not.toContain('-f');
    expect(argv.slice(-3)).toEqual(['--', 'arm.example.com', 'cd -- x && exec true']);
  });

  it('names the identity and the known_hosts file when the spec does, and nothing else', () => {
    const argv = masterArgs({ ...TARGET, identityFile: '/keys/id ed25519', knownHosts: '/keys/known_hosts' });
    const o = options(argv);
    // Double-quoted, "%" doubled: ssh splits these values at spaces and expands %-tokens in them.
    expect(o.get('UserKnownHostsFile')).toEqual(['"/keys/known_hosts"']);
    expect(o.get('GlobalKnownHostsFile')).toEqual(['/dev/null']);
    expect(o.get('IdentitiesOnly')).toEqual(['yes']);
    expect(o.get('IdentityFile')).toEqual(['"/keys/id ed25519"']);
  });

  it('closes the master through its socket', () => {
    const argv = controlArgs(TARGET, 'exit');
    expect(argv.slice(argv.indexOf('-O'), argv.indexOf('-O') + 2)).toEqual(['-O', 'exit']);
    expect(options(argv).get('ControlPath')).toEqual(['"/tmp/orchestrate-run-x/ssh-0"']);
    expect(argv.slice(-2)).toEqual(['--', 'arm.example.com']);
  });

  it.runIf(hasSsh)('means to OpenSSH what it says (ssh -G)', () => {
    const master = sshConfig(
      masterArgs({ ...TARGET, knownHosts: '/keys/known hosts 100%', identityFile: '/keys/id ed25519' }),
    );
    expect(master.get('batchmode')).toBe('yes');
    expect(master.get('stricthostkeychecking')).toBe('true');
    expect(master.get('connecttimeout')).toBe('7');
    expect(master.get('controlpath')).toBe('/tmp/orchestrate-run-x/ssh-0');
    expect(master.get('controlmaster')).toBe('true');
    // One file each, spaces and "%" as written: not split, not taken for tokens.
    expect(master.get('userknownhostsfile')).toBe('/keys/known hosts 100%');
    expect(master.get('identityfile')).toBe('/keys/id ed25519');
    expect(master.get('hostname')).toBe('arm.example.com');
    expect(master.get('port')).toBe('2222');
    expect(master.get('user')).toBe('ci');
    const session = sshConfig(sessionArgs(TARGET, 'true'));
    expect(session.get('controlmaster')).toBe('false');
    expect(session.get('controlpath')).toBe('/tmp/orchestrate-run-x/ssh-0');
  });
});

describe('remote shell commands, run by a real sh', () => {
  it('remoteCommand: into the directory, records its pid, runs each word exactly as given', () => {
    const dir = path.join(tempDir(), "it's a run");
    mkdirSync(path.join(dir, '.pids'), { recursive: true });
    const marker = path.join(dir, 'x-should-not-exist');
    const argv = [
      'printf',
      '%s\\n',
      `$(touch ${marker})`,
      '`touch ' + marker + '`',
      'a\nb',
      "it's",
      '; rm -rf ~',
      '*',
      '',
    ];
    const command = remoteCommand(dir, argv, '.pids/1');
    const out = spawnSync('sh', ['-c', command], { cwd: tmpdir(), encoding: 'buffer' });
    expect(out.status, out.stderr.toString()).toBe(0);
    const expected = `$(touch ${marker})\n\`touch ${marker}\`\na\nb\nit's\n; rm -rf ~\n*\n\n`;
    expect(out.stdout.equals(Buffer.from(expected, 'utf8'))).toBe(true);
    expect(out.stdout.toString('utf8')).toBe(expected);
    expect(existsSync(marker)).toBe(false);
    // The pid recorded is the command's own: `exec` hands it the shell's.
    expect(readFileSync(path.join(dir, '.pids/1'), 'utf8').trim()).toBe(String(out.pid));
  });

  it('remoteCommand: a directory that is not there stops it before anything runs', () => {
    const dir = tempDir();
    const marker = path.join(dir, 'ran');
    const out = spawnSync('sh', ['-c', remoteCommand(path.join(dir, 'missing'), ['touch', marker], '.pids/1')], {
      encoding: 'utf8',
    });
    expect(out.status).not.toBe(0);
    expect(existsSync(marker)).toBe(false);
  });

  it('the example from the brief: printf of a substitution, a newline and a quote', () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, '.pids'));
    const existed = existsSync('/tmp/x-should-not-exist');
    const out = spawnSync(
      'sh',
      ['-c', remoteCommand(dir, ['printf', '%s\\n', '$(touch /tmp/x-should-not-exist)', 'a\nb', "it's"], '.pids/7')],
      { encoding: 'buffer' },
    );
    expect(out.status).toBe(0);
    expect(out.stdout.equals(Buffer.from("$(touch /tmp/x-should-not-exist)\na\nb\nit's\n"))).toBe(true);
    if (!existed) expect(existsSync('/tmp/x-should-not-exist')).toBe(false);
  });

  it('setupCommand: a private run directory with .pids, and the authfile from stdin, 0600', () => {
    const home = tempDir();
    const runDir = "cache dir/run-20260101-abc-arm's";
    const out = spawnSync('sh', ['-c', setupCommand(runDir, 'machine 42 1000')], {
      cwd: home,
      input: '{"auths":{}}',
      encoding: 'utf8',
    });
    expect(out.status, out.stderr).toBe(0);
    const abs = path.join(home, runDir);
    expect(readFileSync(path.join(abs, 'owner'), 'utf8')).toBe('machine 42 1000\n');
    expect(statSync(path.join(abs, '.pids')).isDirectory()).toBe(true);
    expect(readFileSync(path.join(abs, 'auth.json'), 'utf8')).toBe('{"auths":{}}');
    expect(statSync(path.join(abs, 'auth.json')).mode & 0o777).toBe(0o600);
    expect(statSync(abs).mode & 0o777).toBe(0o700);
    // readFileCommand reads back relative to the run's directory; removeRunDirCommand takes it all away.
    writeFileSync(path.join(abs, '3.digest'), 'sha256:abc');
    const read = spawnSync('sh', ['-c', readFileCommand(runDir, '3.digest')], { cwd: home, encoding: 'utf8' });
    expect(read.stdout).toBe('sha256:abc');
    const removed = spawnSync('sh', ['-c', removeRunDirCommand(runDir)], { cwd: home, encoding: 'utf8' });
    expect(removed.status).toBe(0);
    expect(existsSync(abs)).toBe(false);
    expect(existsSync(path.join(home, 'cache dir'))).toBe(true);
  });
});

/** Gone, or a zombie no one has reaped yet (it runs nothing). */
function gone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

function childrenOf(pid: number): number[] {
  const out = spawnSync('ps', ['-e', '-o', 'pid=', '-o', 'ppid='], { encoding: 'utf8' }).stdout;
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number))
    .filter(([, ppid]) => ppid === pid)
    .map(([p]) => p!);
}

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

describe('KILL_TREE_SCRIPT', () => {
  let tree: ChildProcess | undefined;
  const leftovers: number[] = [];
  afterEach(() => {
    // Whatever the test left of what it started: its process group, by id.
    if (tree?.pid !== undefined) {
      try {
        process.kill(-tree.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const pid of leftovers.splice(0)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    tree = undefined;
  });

  async function startTree(): Promise<{ root: number; sleeps: number[]; dir: string }> {
    tree = spawn('sh', ['-c', 'sleep 300 & sleep 300 & wait'], { detached: true, stdio: 'ignore' });
    const root = tree.pid!;
    let sleeps: number[] = [];
    expect(await until(() => (sleeps = childrenOf(root)).length === 2, 5_000)).toBe(true);
    leftovers.push(...sleeps);
    const dir = tempDir();
    mkdirSync(path.join(dir, '.pids'));
    writeFileSync(path.join(dir, '.pids/1'), `${root}\n`);
    return { root, sleeps, dir };
  }

  it('stops the recorded process and all its descendants', async () => {
    const { root, sleeps, dir } = await startTree();
    expect([root, ...sleeps].some(gone)).toBe(false);
    const out = await shAsync(['-c', KILL_TREE_SCRIPT, 'sh', path.join(dir, '.pids/1')]);
    expect(out.status, out.stderr).toBe(0);
    expect(await until(() => [root, ...sleeps].every(gone), 10_000)).toBe(true);
  }, 20_000);

  it('killTreeCommand does the same from the run directory, with the pid file relative to it', async () => {
    const { root, sleeps, dir } = await startTree();
    const out = await shAsync(['-c', killTreeCommand(dir, '.pids/1')], tmpdir());
    expect(out.status, out.stderr).toBe(0);
    expect(await until(() => [root, ...sleeps].every(gone), 10_000)).toBe(true);
  }, 20_000);

  it('also stops what starts under the command after the kill began, and SIGKILLs what ignores SIGTERM', async () => {
    // Ignores SIGTERM (as a container's PID 1 does), and starts a child only once the kill has begun.
    tree = spawn('sh', ['-c', 'trap "" TERM; sleep 0.6; sleep 300 & wait; sleep 300'], {
      detached: true,
      stdio: 'ignore',
    });
    const root = tree.pid!;
    const dir = tempDir();
    mkdirSync(path.join(dir, '.pids'));
    writeFileSync(path.join(dir, '.pids/1'), `${root}\n`);
    const killing = shAsync(['-c', KILL_TREE_SCRIPT, 'sh', path.join(dir, '.pids/1')]);
    let late: number[] = [];
    expect(
      await until(
        () =>
          (late = childrenOf(root).filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('300')))
            .length > 0,
        5_000,
      ),
    ).toBe(true);
    leftovers.push(...late);
    expect((await killing).status).toBe(0);
    expect(await until(() => [root, ...late].every(gone), 10_000)).toBe(true);
  }, 30_000);

  it('a kill that comes before the command starts stops it from starting (the cancel marker)', async () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, '.pids'));
    const ran = path.join(dir, 'ran');
    const kill = await shAsync(['-c', killTreeCommand(dir, '.pids/1')], tmpdir());
    expect(kill.status).toBe(0);
    const out = spawnSync('sh', ['-c', remoteCommand(dir, ['touch', ran], '.pids/1')], { encoding: 'utf8' });
    expect(out.status).toBe(143);
    expect(existsSync(ran)).toBe(false);
  });

  it('leaves everything alone when there is no pid file, and exits 0', async () => {
    const { root, sleeps, dir } = await startTree();
    const out = await shAsync(['-c', KILL_TREE_SCRIPT, 'sh', path.join(dir, '.pids/none')]);
    expect(out.status).toBe(0);
    await new Promise((r) => setTimeout(r, 200));
    expect([root, ...sleeps].some(gone)).toBe(false);
  }, 20_000);
});

describe('remoteRunDir', () => {
  it('is under ~/.cache/orchestrate by default, relative to the home ssh starts in', () => {
    expect(remoteRunDir(undefined, '20260101-abc', 'arm')).toBe('.cache/orchestrate/run-20260101-abc-arm');
  });

  it('writes ~/x as the relative x, keeps absolute paths, drops trailing slashes', () => {
    expect(remoteRunDir('~/work', 'ID', 'arm')).toBe('work/run-ID-arm');
    expect(remoteRunDir('~/work/', 'ID', 'arm')).toBe('work/run-ID-arm');
    expect(remoteRunDir('/srv/x/', 'ID', 'arm')).toBe('/srv/x/run-ID-arm');
    expect(remoteRunDir('/srv/x', 'ID', 'arm')).toBe('/srv/x/run-ID-arm');
    expect(remoteRunDir('~', 'ID', 'arm')).toBe('./run-ID-arm');
    expect(remoteRunDir('/', 'ID', 'arm')).toBe('/run-ID-arm');
  });
});

describe('diagnoseSsh', () => {
  const target = { name: 'arm', user: 'root', host: '10.0.0.2', port: 22 };

  it('an unknown host key', () => {
    const failure = diagnoseSsh(
      target,
      255,
      'No ED25519 host key is known for 10.0.0.2 and you have requested strict checking.\nHost key verification failed.\n',
    );
    expect(failure).toMatchObject({ reason: 'host-key', exitCode: 255 });
    expect(failure?.message).toContain('not in ~/.ssh/known_hosts');
    expect(failure?.hint).toContain('ssh-keyscan -p 22 10.0.0.2');
    expect(diagnoseSsh(target, 255, 'Host key verification failed.\r\n')?.reason).toBe('host-key');
  });

  it('a changed host key: says it differs, and how to remove the old one', () => {
    const stderr = [
      '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
      '@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @',
      '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
      'IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!',
      'Someone could be eavesdropping on you right now (man-in-the-middle attack)!',
      'It is also possible that a host key has just been changed.',
      'The fingerprint for the ED25519 key sent by the remote host is',
      'SHA256:Q4mB9S3Qk0m5mZ1W1f0hJ8o3r8V8mZ4oQh7Zb0J2xkE.',
      'Please contact your system administrator.',
      'Add correct host key in /home/ci/.ssh/known_hosts to get rid of this message.',
      'Offending ED25519 key in /home/ci/.ssh/known_hosts:3',
      'Host key for 10.0.0.2 has changed and you have requested strict checking.',
      'Host key verification failed.',
      '',
    ].join('\n');
    const failure = diagnoseSsh({ ...target, knownHosts: '/keys/known_hosts' }, 255, stderr);
    expect(failure?.reason).toBe('host-key');
    expect(failure?.message).toContain('differs');
    expect(failure?.message).toContain('/keys/known_hosts');
    expect(failure?.hint).toContain("ssh-keygen -R '10.0.0.2' -f /keys/known_hosts");
    // Just the banner line is enough; another port is written the way known_hosts does.
    const banner = diagnoseSsh(
      { ...target, port: 2222 },
      255,
      '@@@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@@@',
    );
    expect(banner?.reason).toBe('host-key');
    expect(banner?.message).toContain('differs');
    expect(banner?.hint).toContain("ssh-keygen -R '[10.0.0.2]:2222'");
  });

  it('host-unreachable: refused, timed out, no route, unknown name', () => {
    for (const stderr of [
      'ssh: connect to host 10.0.0.2 port 22: Connection refused\r\n',
      'ssh: connect to host 10.0.0.2 port 22: Connection timed out\n',
      'ssh: connect to host 10.0.0.2 port 22: No route to host\n',
      'ssh: Could not resolve hostname arm.example.invalid: Name or service not known\n',
      'kex_exchange_identification: read: Connection reset by peer\nConnection reset by 10.0.0.2 port 22\n',
    ]) {
      const failure = diagnoseSsh(target, 255, stderr);
      expect(failure?.reason, stderr).toBe('host-unreachable');
      expect(failure?.hint).toContain('fallback: emulate');
    }
    const refused = diagnoseSsh(target, 255, 'ssh: connect to host 10.0.0.2 port 22: Connection refused\n');
    expect(refused?.message).toBe(
      'cannot reach arm (root@10.0.0.2:22): ssh: connect to host 10.0.0.2 port 22: Connection refused',
    );
    expect(refused?.exitCode).toBe(255);
  });

  it('host-lost: the connection dropped mid-command', () => {
    for (const stderr of [
      'client_loop: send disconnect: Broken pipe\n',
      'Connection to 10.0.0.2 closed by remote host.\n',
      'Timeout, server 10.0.0.2 not responding.\n',
      'mux_client_request_session: read from master failed: Broken pipe\n',
    ]) {
      expect(diagnoseSsh(target, 255, stderr)?.reason, stderr).toBe('host-lost');
    }
    const lost = diagnoseSsh(target, 255, 'STEP 3/5: RUN make\nConnection to 10.0.0.2 closed by remote host.\n');
    expect(lost?.message).toBe(
      'lost the connection to arm (root@10.0.0.2:22): Connection to 10.0.0.2 closed by remote host.',
    );
  });

  it('host-auth: the key was refused', () => {
    const failure = diagnoseSsh(
      target,
      255,
      "Warning: Permanently added '10.0.0.2' (ED25519) to the list of known hosts.\nroot@10.0.0.2: Permission denied (publickey).\n",
    );
    expect(failure?.reason).toBe('host-auth');
    expect(failure?.message).toBe(
      'arm (root@10.0.0.2:22) refused the login: root@10.0.0.2: Permission denied (publickey).',
    );
    expect(failure?.hint).toContain('~root/.ssh/authorized_keys');
  });

  it('is not ssh failing unless ssh exited 255: the remote command may print anything', () => {
    for (const code of [0, 1, 2, 125, 126, 127, 254]) {
      expect(diagnoseSsh(target, code, 'ssh: connect to host 10.0.0.2 port 22: Connection refused\n')).toBeUndefined();
      expect(diagnoseSsh(target, code, 'client_loop: send disconnect: Broken pipe\n')).toBeUndefined();
      expect(diagnoseSsh(target, code, 'Host key verification failed.\n')).toBeUndefined();
    }
    // 255 with something that is not one of ssh's own errors: not diagnosed either.
    expect(diagnoseSsh(target, 255, 'Error: building at STEP "RUN make": exit status 2\n')).toBeUndefined();
  });

  it('setupCommand lists the run directories beside the new one with their owners; a dead run of this machine is swept, a live or foreign one is not', () => {
    const home = tempDir();
    const base = path.join(home, '.cache/orchestrate');
    const dead = spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' }).stdout.trim(); // a pid that has exited
    for (const [name, stamp] of [
      ['run-old-a', ownerStamp(Number(dead)).replace(/ \S+$/, ' 1')],
      ['run-live-a', ownerStamp()],
      ['run-other-a', 'another-machine 1 1'],
    ] as const) {
      mkdirSync(path.join(base, name), { recursive: true });
      writeFileSync(path.join(base, name, 'owner'), `${stamp}\n`);
    }
    mkdirSync(path.join(base, 'run-unstamped-a'));
    const own = '.cache/orchestrate/run-new-a';
    const out = spawnSync('sh', ['-c', setupCommand(own, ownerStamp())], { cwd: home, input: '{}', encoding: 'utf8' });
    expect(out.status, out.stderr).toBe(0);
    const [probe, listing] = out.stdout.split(RUN_DIRS_MARKER);
    expect(probe).toBe(SHELL_PROBE);
    expect(listing!.trim().split('\n')).toHaveLength(4);
    expect(deadRemoteRunDirs(listing!, own)).toEqual(['.cache/orchestrate/run-old-a']);
  });
});
