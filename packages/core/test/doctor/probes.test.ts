/**
 * How the doctor probes, with a fake runner: which commands, with what on stdin, and how
 * their outcomes become rows. The build's pre-flight is the cheap subset.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDoctor, preflightChecks } from '../../src/doctor/index.js';
import { modelOf, planOf } from '../helpers.js';
import { FakeRunner } from '../exec/fake-runner.js';

const SPEC = `version: 1
platforms: [linux/amd64, linux/s390x]
registries:
  local: { url: "localhost:5000/team", auth: { username: ci, passwordEnv: TEAM_TOKEN } }
images:
  app: { context: app }
`;
const ENABLED = 'enabled\ninterpreter /usr/libexec/qemu-binfmt/s390x-binfmt-P\nflags: PF\n';
const DF = 'Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/vda 264212084 24928768 81462144 24% /\n';

/** A machine where every probe answers as on a healthy Debian 12 box. */
function healthy(
  overrides: (argv: readonly string[]) => { exitCode?: number; stdout?: string; stderr?: string } | undefined = () =>
    undefined,
) {
  return new FakeRunner((invocation) => {
    const argv = invocation.argv;
    const special = overrides(argv);
    if (special) return special;
    const [command, first] = argv;
    if (first === '--version') return { stdout: `${command} version 4.3.1\n` };
    if (command === 'cat') return { stdout: ENABLED };
    if (command === 'df') return { stdout: DF };
    if (argv.includes('info')) return { stdout: '/var/lib/containers/storage\n' };
    if (argv.includes('exists')) return { exitCode: 0 };
    if (argv.includes('run')) return { stdout: argv.includes('linux/s390x') ? 's390x\n' : 'x86_64\n' };
    if (argv.includes('login')) return { stdout: 'Login Succeeded!\n' };
    return { exitCode: 1, stderr: `unexpected: ${argv.join(' ')}` };
  });
}

describe('runDoctor', () => {
  it('passes a healthy machine; the password goes on stdin only and is kept from the environment', async () => {
    const runner = healthy();
    const report = await runDoctor({
      plan: planOf(SPEC),
      model: modelOf(SPEC),
      specDir: '/tmp',
      diagnostics: [],
      env: { TEAM_TOKEN: 's3cret-token' },
      runner,
    });
    expect(report.checks.filter((c) => c.status !== 'pass')).toEqual([]);
    expect(report.checks.map((c) => `${c.check} ${c.subject}`)).toEqual(
      expect.arrayContaining([
        'runtime linux/amd64',
        'binfmt linux/s390x',
        'emulation linux/s390x',
        'registry-credentials registry local (localhost:5000)',
      ]),
    );
    const login = runner.invocations.find((i) => i.argv.includes('login'))!;
    expect(login.stdin).toBe('s3cret-token');
    expect(login.hideEnv).toEqual(['TEAM_TOKEN']);
    expect(runner.invocations.flatMap((i) => i.argv).join(' ')).not.toContain('s3cret-token');
    // Nothing that reaches a network but the login: no pull, no push.
    expect(runner.invocations.some((i) => /pull|push/.test(i.argv.join(' ').replace('--pull=never', '')))).toBe(false);
  });

  it('a disabled handler fails emulation and runs no container for it; an echoed secret is masked', async () => {
    const runner = healthy((argv) =>
      argv[0] === 'cat'
        ? { stdout: ENABLED.replace('enabled', 'disabled') }
        : argv.includes('login')
          ? {
              exitCode: 125,
              stderr: 'Error: logging into "localhost:5000": invalid username/password for s3cret-token\n',
            }
          : undefined,
    );
    const report = await runDoctor({
      plan: planOf(SPEC),
      model: modelOf(SPEC),
      specDir: '/tmp',
      diagnostics: [],
      env: { TEAM_TOKEN: 's3cret-token' },
      runner,
    });
    expect(report.status).toBe('fail');
    expect(report.checks.find((c) => c.check === 'binfmt')?.status).toBe('fail');
    expect(report.checks.some((c) => c.check === 'emulation')).toBe(false);
    expect(JSON.stringify(report)).not.toContain('s3cret-token');
    // The tool's own line, kept as detail, is masked too.
    expect(report.checks.find((c) => c.check === 'registry-credentials')?.detail).toContain('***');
  });
});

describe('preflightChecks', () => {
  it('checks the tools the plan runs here, binfmt for its emulated platforms and disk, and nothing over the network', async () => {
    const runner = healthy();
    const checks = await preflightChecks(planOf(SPEC), runner);
    expect(checks.map((c) => `${c.check} ${c.subject} ${c.status}`)).toEqual([
      'tool podman pass',
      'tool skopeo pass',
      'binfmt linux/s390x pass',
      'disk this machine pass',
    ]);
    expect(runner.invocations.some((i) => i.argv.includes('login') || i.argv.includes('run'))).toBe(false);
  });
});

describe('credentials podman keeps', () => {
  const OPEN = `version: 1
platforms: [linux/amd64]
registries:
  quay: { url: "quay.io/acme" }
images:
  app: { context: app }
`;
  const homeWith = (files: Record<string, string>): string => {
    const root = mkdtempSync(path.join(tmpdir(), 'doctor-auth-'));
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      writeFileSync(path.join(root, file), text);
    }
    return root;
  };
  const auth = JSON.stringify({ auths: { 'quay.io': { auth: 'dTpw' } } });
  const storageRow = async (root: string) => {
    const runner = healthy();
    const report = await runDoctor({
      plan: planOf(OPEN),
      model: modelOf(OPEN),
      specDir: root,
      diagnostics: [],
      env: { XDG_RUNTIME_DIR: path.join(root, 'run'), HOME: path.join(root, 'home') },
      runner,
    });
    rmSync(root, { recursive: true, force: true });
    // The login verified what is stored, from a copy: never the user's own file.
    const login = runner.invocations.find((i) => i.argv.includes('login'));
    expect(login?.argv.join(' ')).not.toContain(root);
    return report.checks.find((c) => c.check === 'registry-credentials-storage');
  };

  it('warns when the only login is under $XDG_RUNTIME_DIR (gone at reboot), not when one lasts', async () => {
    const volatile = await storageRow(homeWith({ 'run/containers/auth.json': auth }));
    expect(volatile?.status).toBe('warn');
    expect(volatile?.fix).toContain('--authfile ~/.config/containers/auth.json quay.io');
    const lasting = await storageRow(
      homeWith({ 'run/containers/auth.json': auth, 'home/.config/containers/auth.json': auth }),
    );
    expect(lasting).toBeUndefined();
  });
});
