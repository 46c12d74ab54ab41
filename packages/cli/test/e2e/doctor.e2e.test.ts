/**
 * `orchestrate doctor` for real: a TLS+htpasswd registry on loopback, a build host in a
 * network namespace, QEMU. Each failure is made to happen (a binfmt handler disabled, the
 * registry's CA taken away, a wrong password, an unknown host key) and must fail with its
 * fix; the healthy setup must pass. Under CI=true this suite runs or fails; it never skips.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckResult, DoctorReport } from '@multiarch/core';
import { createBuildHostNetworks, startBuildHosts, type BuildHosts } from './fixture/build-hosts.js';
import { CERTS_D, startRegistry, type Registry } from './fixture/registry.js';
import { e2eUnavailable, removeScratch, scratch, startCli, type CliRun } from './harness.js';

const unavailable = e2eUnavailable();
const mustRun = process.env['CI'] === 'true';
const E2E_TIMEOUT = 10 * 60_000;
const S390X_BINFMT = '/proc/sys/fs/binfmt_misc/qemu-s390x';

const SPEC = `version: 1
platforms: [linux/amd64, linux/arm64, linux/s390x]
strategy: per-arch
registries:
  local:
    url: \${REGISTRY}/doctor
    auth: { username: "\${REGISTRY_USER}", passwordEnv: REGISTRY_PASSWORD }
hosts:
  amd-builder:
    ssh: root@\${BUILDER_HOST}:22
    identityFile: \${BUILDER_KEY}
    knownHosts: \${BUILDER_KNOWN_HOSTS}
    platforms: [linux/amd64]
images:
  app:
    context: app
`;

describe.skipIf(unavailable !== undefined && !mustRun)(
  'orchestrate doctor, end to end',
  { timeout: E2E_TIMEOUT },
  () => {
    let registry: Registry;
    let farm: BuildHosts;
    let dir: string;

    beforeAll(async () => {
      if (unavailable) throw new Error(unavailable);
      const work = scratch('doctor');
      registry = await startRegistry(path.join(work, 'registry'));
      farm = await startBuildHosts(path.join(work, 'hosts'), await createBuildHostNetworks(1));
      dir = path.join(work, 'project');
      mkdirSync(path.join(dir, 'app'), { recursive: true });
      writeFileSync(path.join(dir, 'multiarch.yaml'), SPEC);
      writeFileSync(path.join(dir, 'app/Containerfile'), 'FROM docker.io/library/busybox:1.36\n');
    }, E2E_TIMEOUT);

    afterAll(async () => {
      await farm?.stop();
      await registry?.stop();
      removeScratch();
    });

    const env = (overrides: Record<string, string> = {}): Record<string, string> => ({
      REGISTRY: registry.host,
      REGISTRY_USER: registry.username,
      REGISTRY_PASSWORD: registry.password,
      BUILDER_HOST: farm.hosts[0]!.address,
      BUILDER_KEY: farm.identityFile,
      BUILDER_KNOWN_HOSTS: farm.knownHosts,
      ...overrides,
    });
    const doctor = async (overrides: Record<string, string> = {}): Promise<{ run: CliRun; report: DoctorReport }> => {
      const run = await startCli(['doctor', '--output', 'json'], { cwd: dir, env: env(overrides) }).done;
      return { run, report: JSON.parse(run.stdout) as DoctorReport };
    };
    const failures = (report: DoctorReport): CheckResult[] => report.checks.filter((c) => c.status === 'fail');

    it('passes the healthy setup: every check, exit 0, and the table says so', async () => {
      const { run, report } = await doctor();
      expect(failures(report), run.stdout + run.stderr).toEqual([]);
      expect(run.code).toBe(0);
      const checked = report.checks.map((c) => `${c.check} ${c.subject}`);
      for (const expected of [
        'runtime linux/amd64',
        'emulation linux/arm64',
        'emulation linux/s390x',
        `registry-credentials registry local (${registry.host})`,
        'host-connect host amd-builder',
        'host-arch host amd-builder',
        'disk host amd-builder',
      ])
        expect(checked).toContain(expected);
      expect(run.stdout).not.toContain(registry.password);
      const text = await startCli(['doctor'], { cwd: dir, env: env() }).done;
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/^pass +emulation +linux\/s390x +runs under QEMU \(uname -m: s390x\)$/m);
    });

    it('binfmt for s390x disabled: doctor fails it with the command that enables it, and build stops before starting', async () => {
      expect(readFileSync(S390X_BINFMT, 'utf8').split('\n')[0]).toBe('enabled');
      writeFileSync(S390X_BINFMT, '0');
      let result: Awaited<ReturnType<typeof doctor>>;
      let build: CliRun;
      try {
        [result, build] = await Promise.all([
          doctor(),
          startCli(['build', '--no-push', '--platform', 'linux/s390x'], { cwd: dir, env: env() }).done,
        ]);
      } finally {
        writeFileSync(S390X_BINFMT, '1');
      }
      expect(result.run.code).toBe(1);
      expect(failures(result.report).map((c) => `${c.check} ${c.subject}`)).toEqual(['binfmt linux/s390x']);
      expect(failures(result.report)[0]!.fix).toContain(`echo 1 > ${S390X_BINFMT}`);
      // The pre-flight: exit 1, the same words, and nothing ran.
      expect(build.code, build.stdout + build.stderr).toBe(1);
      expect(build.stderr).toContain('the QEMU binfmt handler for linux/s390x is registered but disabled');
      expect(build.stderr).toContain(`echo 1 > ${S390X_BINFMT}`);
      expect(build.stdout).not.toMatch(/build:app/);
    });

    it("the registry's CA missing: TLS fails, with the certs.d path that fixes it", async () => {
      const trusted = path.join(CERTS_D, registry.host);
      const aside = `${trusted}.doctor-e2e`;
      renameSync(trusted, aside);
      let result: Awaited<ReturnType<typeof doctor>>;
      try {
        result = await doctor();
      } finally {
        if (existsSync(aside)) renameSync(aside, trusted);
      }
      expect(result.run.code).toBe(1);
      const failed = failures(result.report);
      expect(failed.map((c) => c.check)).toEqual(['registry-tls']);
      expect(failed[0]!.fix).toContain(`/etc/containers/certs.d/${registry.host}/ca.crt`);
    });

    it('a wrong password: credentials fail, and the password is not printed', async () => {
      const wrong = 'not-the-password-4711';
      const { run, report } = await doctor({ REGISTRY_PASSWORD: wrong });
      expect(run.code).toBe(1);
      const failed = failures(report);
      expect(failed.map((c) => c.check)).toEqual(['registry-credentials']);
      expect(failed[0]!.message).toContain('refused the login: wrong username or password');
      expect(failed[0]!.fix).toContain('password variable');
      expect(run.stdout + run.stderr).not.toContain(wrong);
    });

    it('an unknown host key: the host fails with the keyscan fix, and nothing else is tried there', async () => {
      const empty = path.join(dir, 'empty_known_hosts');
      writeFileSync(empty, '');
      const { run, report } = await doctor({ BUILDER_KNOWN_HOSTS: empty });
      expect(run.code).toBe(1);
      const failed = failures(report);
      expect(failed.map((c) => `${c.check} ${c.subject}`)).toEqual(['host-connect host amd-builder']);
      expect(failed[0]!.message).toContain('never accepts an unknown key');
      expect(failed[0]!.fix).toContain(`ssh-keyscan -p 22 ${farm.hosts[0]!.address} >> ${empty}`);
      expect(report.checks.some((c) => c.check === 'host-arch')).toBe(false);
    });
  },
);
