/**
 * The doctor's interpretations, fed the outputs podman, skopeo, df and the kernel really
 * gave on Debian 12 (podman 4.3.1, skopeo 1.9.3, distribution 2.8 with TLS and htpasswd).
 */
import { describe, expect, it } from 'vitest';
import {
  archOfUname,
  interpretArchRun,
  interpretBinfmt,
  interpretDisk,
  interpretRegistry,
  interpretTool,
  parseVersion,
  type Outcome,
} from '../../src/doctor/interpret.js';
import {
  interpretCredentialsStorage,
  interpretHostArch,
  interpretHostConnect,
} from '../../src/doctor/interpret-host.js';
import { diagnoseSsh } from '../../src/exec/ssh.js';

const ok = (stdout: string): Outcome => ({ exitCode: 0, stdout, stderr: '' });
const failed = (exitCode: number, stderr: string, stdout = ''): Outcome => ({ exitCode, stdout, stderr });
const notInstalled: Outcome = {
  exitCode: -2,
  stdout: '',
  stderr: '',
  spawnError: Object.assign(new Error('spawn skopeo ENOENT'), { code: 'ENOENT' }),
};

describe('tools', () => {
  it('passes the versions Debian 12 has, with the version as found', () => {
    expect(interpretTool('podman', ok('podman version 4.3.1\n'))).toMatchObject({
      status: 'pass',
      message: 'podman version 4.3.1',
    });
    expect(
      interpretTool('buildah', ok('buildah version 1.28.2 (image-spec 1.1.0-rc2, runtime-spec 1.0.2-dev)\n')).status,
    ).toBe('pass');
    expect(interpretTool('skopeo', ok('skopeo version 1.9.3\n')).status).toBe('pass');
  });

  it('fails versions without the options the plan uses, naming them', () => {
    const podman = interpretTool('podman', ok('podman version 3.4.4\n'));
    expect(podman.status).toBe('fail');
    expect(podman.message).toContain('--build-context');
    expect(podman.fix).toContain('4.2.0 or later');
    // skopeo 1.5.0: "unknown flag: --preserve-digests" (skopeo#1761).
    expect(interpretTool('skopeo', ok('skopeo version 1.5.0\n')).message).toContain('--preserve-digests');
    expect(interpretTool('podman', ok('podman version 4.2.0\n')).status).toBe('pass');
  });

  it('fails a missing tool with how to install it, here and on a build host', () => {
    expect(interpretTool('skopeo', notInstalled)).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('apt-get install skopeo'),
    });
    // A build host's sh, through `exec`: exit 127.
    const remote = interpretTool('skopeo', failed(127, 'sh: 1: exec: skopeo: not found\n'), {
      host: 'arm1',
      check: 'host-tool',
    });
    expect(remote).toMatchObject({ check: 'host-tool', subject: 'skopeo on arm1', status: 'fail' });
    expect(remote.fix).toContain('non-interactive ssh sessions');
  });

  it('reads versions', () => {
    expect(parseVersion('tar (GNU tar) 1.34')).toEqual([1, 34, 0]);
    expect(parseVersion('no digits')).toBeUndefined();
  });
});

describe('binfmt', () => {
  const enabled =
    'enabled\ninterpreter /usr/libexec/qemu-binfmt/s390x-binfmt-P\nflags: PF\noffset 0\nmagic 7f454c4602020100000000000000000000020016\nmask ffffffffffffff00fffffffffffffffffffeffff\n';

  it('passes an enabled handler with the F flag', () => {
    expect(interpretBinfmt('linux/s390x', ok(enabled))).toMatchObject({ status: 'pass' });
  });

  it('fails a disabled one with the command that enables it', () => {
    const check = interpretBinfmt('linux/s390x', ok(enabled.replace('enabled', 'disabled')));
    expect(check.status).toBe('fail');
    expect(check.fix).toContain('echo 1 > /proc/sys/fs/binfmt_misc/qemu-s390x');
  });

  it('fails a missing one with the packages to install, and one without F (containers cannot see the interpreter)', () => {
    const missing = interpretBinfmt(
      'linux/arm64',
      failed(1, 'cat: /proc/sys/fs/binfmt_misc/qemu-aarch64: No such file or directory\n'),
    );
    expect(missing.status).toBe('fail');
    expect(missing.message).toContain('/proc/sys/fs/binfmt_misc/qemu-aarch64');
    expect(missing.fix).toContain('qemu-user-static');
    expect(interpretBinfmt('linux/s390x', ok(enabled.replace('flags: PF', 'flags: P'))).status).toBe('fail');
  });

  it('warns, not fails, where binfmt_misc is not mounted (a container whose host has the handlers)', () => {
    const gone = failed(1, 'cat: /proc/sys/fs/binfmt_misc/qemu-aarch64: No such file or directory\n');
    const check = interpretBinfmt('linux/arm64', gone, false);
    expect(check.status).toBe('warn');
    expect(check.fix).toContain('mount -t binfmt_misc');
  });
});

describe('a container of a platform', () => {
  it('passes the right answer, fails exec format error with the QEMU fix, and fails a wrong architecture', () => {
    expect(interpretArchRun('linux/s390x', ok('s390x\n'), 'emulation').status).toBe('pass');
    const noQemu = interpretArchRun('linux/s390x', failed(1, 'exec /bin/busybox: exec format error\n'), 'emulation');
    expect(noQemu.status).toBe('fail');
    expect(noQemu.fix).toContain('QEMU');
    const wrong = interpretArchRun('linux/arm64', ok('x86_64\n'), 'emulation');
    expect(wrong.status).toBe('fail');
    expect(wrong.message).toContain('"x86_64"');
    expect(interpretArchRun('linux/amd64', ok('x86_64\n'), 'runtime').message).toContain('runs a container');
  });

  it('maps uname -m to architectures', () => {
    expect(['x86_64', 'aarch64', 's390x', 'armv7l', 'i686', 'ppc64le', 'sparc64'].map(archOfUname)).toEqual([
      'amd64',
      'arm64',
      's390x',
      'arm',
      '386',
      'ppc64le',
      undefined,
    ]);
  });
});

describe('disk', () => {
  const df = (availableKb: number): Outcome =>
    ok(
      `Filesystem     1024-blocks     Used Available Capacity Mounted on\n/dev/vda         264212084 24928768  ${availableKb}      24% /\n`,
    );
  it('passes plenty, warns little, fails almost none', () => {
    expect(interpretDisk('this machine', '/var/lib/containers/storage', df(81462144))).toMatchObject({
      status: 'pass',
      message: '77.7 GiB free in /var/lib/containers/storage',
    });
    expect(interpretDisk('this machine', '/s', df(5 * 1024 * 1024)).status).toBe('warn');
    const full = interpretDisk('host a', '/s', df(60_000));
    expect(full.status).toBe('fail');
    expect(full.fix).toContain('podman system prune');
    expect(interpretDisk('host a', '/s', failed(1, 'df: /s: No such file or directory\n')).status).toBe('warn');
  });
});

describe('registries', () => {
  const probe = { subject: 'registry local (localhost:47123)', server: 'localhost:47123', tlsVerify: true };
  const login = { ...probe, login: 'login as u1 (password from $REGISTRY_PASSWORD)' };
  const statuses = (rows: { check: string; status: string }[]) => rows.map((r) => `${r.check} ${r.status}`);

  it('passes reachable, TLS and credentials on Login Succeeded', () => {
    expect(statuses(interpretRegistry(login, ok('Login Succeeded!\n')))).toEqual([
      'registry-reachable pass',
      'registry-tls pass',
      'registry-credentials pass',
    ]);
  });

  it('an untrusted CA: TLS fails, with the certs.d path for this registry', () => {
    const rows = interpretRegistry(
      login,
      failed(
        125,
        'Error: authenticating creds for "localhost:47123": pinging container registry localhost:47123: Get "https://localhost:47123/v2/": x509: certificate signed by unknown authority\n',
      ),
    );
    expect(statuses(rows)).toEqual(['registry-reachable pass', 'registry-tls fail']);
    expect(rows[1]!.fix).toContain('/etc/containers/certs.d/localhost:47123/ca.crt');
  });

  it('a wrong password: credentials fail, saying which login', () => {
    const rows = interpretRegistry(
      login,
      failed(125, 'Error: logging into "localhost:47123": invalid username/password\n'),
    );
    expect(statuses(rows)).toEqual(['registry-reachable pass', 'registry-tls pass', 'registry-credentials fail']);
    expect(rows[2]!.message).toBe(
      'login as u1 (password from $REGISTRY_PASSWORD) was refused: localhost:47123 refused the login: wrong username or password',
    );
  });

  it('stored credentials refused: podman asks for new ones and fails on EOF, which is not the registry being down', () => {
    const rows = interpretRegistry(
      { ...probe, login: 'the credentials in /root/.config/containers/auth.json', relogin: 'log in again: X' },
      failed(
        125,
        'Error: getting username and password: reading username: EOF\n',
        'Authenticating with existing credentials for localhost:47123\nExisting credentials are invalid, please enter valid username and password\nUsername (u1): ',
      ),
    );
    expect(statuses(rows)).toEqual(['registry-reachable pass', 'registry-tls pass', 'registry-credentials fail']);
    expect(rows[2]!.fix).toBe('log in again: X');
  });

  it('nothing listening: not reachable, and nothing after it', () => {
    const rows = interpretRegistry(
      login,
      failed(
        125,
        'Error: authenticating creds for "localhost:47199": pinging container registry localhost:47199: Get "https://localhost:47199/v2/": dial tcp 127.0.0.1:47199: connect: connection refused\n',
      ),
    );
    expect(statuses(rows)).toEqual(['registry-reachable fail']);
  });

  it('anonymously (skopeo): a 401 proves TLS, and says pushes need credentials; an unset password variable fails', () => {
    const unauthorized = failed(
      1,
      'time="2026-12-02T03:50:08Z" level=fatal msg="Error parsing image name \\"docker://localhost:47123/x/hello:latest\\": reading manifest latest in localhost:47123/x/hello: unauthorized: authentication required"\n',
    );
    expect(statuses(interpretRegistry(probe, unauthorized))).toEqual([
      'registry-reachable pass',
      'registry-tls pass',
      'registry-credentials fail',
    ]);
    const unset = interpretRegistry(
      { ...probe, missingCredentials: { message: 'REGISTRY_PASSWORD is not set', fix: 'export it' } },
      unauthorized,
    );
    expect(unset[2]).toMatchObject({ status: 'fail', message: 'REGISTRY_PASSWORD is not set' });
    const x509 = failed(
      1,
      'time="2026-12-02T03:50:07Z" level=fatal msg="Error parsing image name \\"docker://localhost:47123/x/hello:latest\\": pinging container registry localhost:47123: Get \\"https://localhost:47123/v2/\\": x509: certificate signed by unknown authority"\n',
    );
    expect(statuses(interpretRegistry(probe, x509))).toEqual(['registry-reachable pass', 'registry-tls fail']);
  });

  it('warns about tlsVerify: false', () => {
    expect(interpretRegistry({ ...login, tlsVerify: false }, ok('Login Succeeded!\n'))[1]!.status).toBe('warn');
  });

  it('warns when the only credentials go at reboot, with a lasting place', () => {
    const warn = interpretCredentialsStorage('registry r', 'quay.io', [
      { file: '/run/user/1000/containers/auth.json', volatile: true },
    ]);
    expect(warn?.status).toBe('warn');
    expect(warn?.fix).toContain('--authfile ~/.config/containers/auth.json');
    expect(
      interpretCredentialsStorage('registry r', 'quay.io', [
        { file: '/run/user/1000/containers/auth.json', volatile: true },
        { file: '/home/u/.config/containers/auth.json', volatile: false },
      ]),
    ).toBeUndefined();
  });
});

describe('build hosts', () => {
  const target = { name: 'arm1', user: 'root', host: '10.1.1.2', port: 22, knownHosts: '/tmp/kh' };

  it('an unknown host key fails with the keyscan fix (ssh.ts says it)', () => {
    const failure = diagnoseSsh(
      target,
      255,
      'No ED25519 host key is known for 10.1.1.2 and you have requested strict checking.\r\nHost key verification failed.\r\n',
    );
    const check = interpretHostConnect('arm1', 'root@10.1.1.2:22', failure);
    expect(check.status).toBe('fail');
    expect(check.fix).toContain('ssh-keyscan -p 22 10.1.1.2 >> /tmp/kh');
    expect(interpretHostConnect('arm1', 'root@10.1.1.2:22', undefined).status).toBe('pass');
  });

  it('a host claiming an architecture it is not fails; its own passes', () => {
    const check = interpretHostArch('arm1', ['linux/arm64'], ok('x86_64\n'));
    expect(check.status).toBe('fail');
    expect(check.message).toContain('linux/arm64 natively, but it is x86_64');
    expect(interpretHostArch('arm1', ['linux/arm64', 'linux/arm64/v8'], ok('aarch64\n')).status).toBe('pass');
  });
});
