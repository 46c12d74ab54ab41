import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { checkPushedList, checkTestOutput } from '../../src/exec/checks.js';
import { diagnoseExit, lastErrorLine } from '../../src/exec/failure.js';
import { backoffDelay, parseRetryAfter } from '../../src/exec/retry.js';
import { redactor } from '../../src/exec/secrets.js';
import { newRunId } from '../../src/exec/values.js';

describe('diagnoseExit', () => {
  it.each([
    ['Error: logging in to "localhost:5000": invalid username/password', 'registry-auth', false],
    ['Error: writing manifest: denied: access forbidden', 'registry-auth', false],
    [
      'Error: trying to reuse blob ... received unexpected HTTP status: 500 Internal Server Error',
      'registry-unavailable',
      true,
    ],
    ['Error: reading manifest: StatusCode: 429, "toomanyrequests"', 'registry-unavailable', true],
    [
      'Error: pinging container registry localhost:5000: Get "https://localhost:5000/v2/": dial tcp 127.0.0.1:5000: connect: connection refused',
      'registry-unavailable',
      true,
    ],
    ['Error: writing blob: write tcp: connection reset by peer', 'registry-unavailable', true],
    [
      'Error: pinging container registry localhost:5000: Get "https://localhost:5000/v2/": x509: certificate signed by unknown authority',
      'registry-tls',
      false,
    ],
    ['standard_init_linux.go:228: exec user process caused: exec format error', 'emulation-missing', false],
    [
      'Error: creating build container: short-name resolution enforced but cannot prompt without a TTY',
      'short-name',
      false,
    ],
    ['Error: committing container: writing blob: no space left on device', 'no-space', false],
    ['Error: building at STEP "RUN exit 3": while running runtime: exit status 3', 'command-failed', false],
    [
      'aarch64\ntime="2026-11-23T10:52:09Z" level=error msg="Waiting for container 8a19: getting exit code of container 8a19 from DB: no such exit code"',
      'storage-race',
      true,
    ],
    [
      'Error: creating build container: checking platform of image r/tools@sha256:36a7: inspecting image: fetching target platform image selected from image index: reading manifest for image instance "sha256:286c": locating item named "manifest-sha256:286c" for image with ID "8e7a"',
      'storage-race',
      true,
    ],
    [
      'Error: creating build container: locating pulled image "r:5000/base:1" name in containers storage: r:5000/base:1: image not known',
      'storage-race',
      true,
    ],
    ['sh: 1: exec: skopeo: not found', 'command-not-found', false],
    [
      '/bin/sh: 1: frobnicate: not found\nError: building at STEP "RUN frobnicate": while running runtime: exit status 127',
      'command-failed',
      false,
    ],
  ] as const)('%s -> %s', (text, reason, transient) => {
    const diagnosis = diagnoseExit(125, text);
    expect(diagnosis.failure.reason).toBe(reason);
    expect(diagnosis.transient).toBe(transient);
    if (reason !== 'command-failed') expect(diagnosis.failure.hint).toBeTruthy();
  });

  it('names the certs.d directory of the registry that is not trusted', () => {
    expect(
      diagnoseExit(125, 'Get "https://localhost:5443/v2/": x509: certificate signed by unknown authority').failure.hint,
    ).toContain('/etc/containers/certs.d/localhost:5443/ca.crt');
  });

  it('reads the message out of a logrus line', () => {
    expect(
      lastErrorLine(
        'time="2026-11-23T10:18:35Z" level=fatal msg="Error parsing image name \\"docker://x\\": reading manifest: toomanyrequests"',
      ),
    ).toBe('Error parsing image name "docker://x": reading manifest: toomanyrequests');
  });

  it('takes the cause under "N errors occurred"', () => {
    expect(lastErrorLine('STEP 1\nError: 2 errors occurred:\n\t* creating build container: boom\n\t* other\n')).toBe(
      'creating build container: boom',
    );
  });
});

describe('backoff', () => {
  const policy = { retries: 5, baseMs: 1000, maxMs: 8000 };
  it('grows exponentially with jitter, within [ceiling/2, ceiling], capped', () => {
    for (const [retry, ceiling] of [
      [1, 1000],
      [2, 2000],
      [3, 4000],
      [4, 8000],
      [6, 8000],
    ] as const) {
      expect(backoffDelay(policy, retry, () => 0)).toBe(ceiling / 2);
      expect(backoffDelay(policy, retry, () => 0.999999)).toBe(ceiling);
    }
  });
  it('waits at least what Retry-After asks, up to the cap', () => {
    expect(backoffDelay(policy, 1, () => 0, 3000)).toBe(3000);
    expect(backoffDelay(policy, 1, () => 0, 60_000)).toBe(8000);
  });
  it('reads Retry-After as seconds or a date', () => {
    expect(parseRetryAfter('2', 0)).toBe(2000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
    expect(parseRetryAfter(undefined, 0)).toBeUndefined();
  });
});

describe('checkPushedList', () => {
  const raw = JSON.stringify({
    manifests: [
      { digest: 'sha256:aa', platform: { os: 'linux', architecture: 'amd64' } },
      { digest: 'sha256:bb', platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    ],
  });
  const digest = `sha256:${createHash('sha256').update(raw).digest('hex')}`;
  it('accepts the list that was staged, with every platform and pushed digest', () => {
    expect(
      checkPushedList(`${raw}\n`, {
        listDigest: digest,
        platforms: ['linux/amd64', 'linux/arm64'],
        digests: new Map([['linux/amd64', 'sha256:aa']]),
      }),
    ).toBeUndefined();
  });
  it('refuses a list with a platform twice, or one this run did not build', () => {
    const doubled = JSON.stringify({
      manifests: [
        { digest: 'sha256:aa', platform: { os: 'linux', architecture: 'amd64' } },
        { digest: 'sha256:ab', platform: { os: 'linux', architecture: 'amd64' } },
      ],
    });
    const hash = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;
    expect(
      checkPushedList(doubled, { listDigest: hash(doubled), platforms: ['linux/amd64'], digests: new Map() })?.message,
    ).toContain('holds a platform twice');
    expect(
      checkPushedList(raw, { listDigest: digest, platforms: ['linux/amd64'], digests: new Map() })?.message,
    ).toContain('holds linux/arm64/v8, which this run did not build');
  });

  it('refuses a list with other bytes, a missing platform, or another digest', () => {
    expect(checkPushedList(raw, { listDigest: 'sha256:00', platforms: [], digests: new Map() })?.message).toContain(
      'digest is not',
    );
    expect(
      checkPushedList(raw, {
        listDigest: digest,
        platforms: ['linux/amd64', 'linux/arm64', 'linux/s390x'],
        digests: new Map(),
      })?.message,
    ).toContain('lacks linux/s390x');
    expect(
      checkPushedList(raw, {
        listDigest: digest,
        platforms: ['linux/amd64', 'linux/arm64'],
        digests: new Map([['linux/arm64', 'sha256:cc']]),
      })?.message,
    ).toContain('this run pushed sha256:cc');
  });
  it('matches a smoke test output by regular expression', () => {
    expect(checkTestOutput('aarch64\n', 'aarch64')).toBeUndefined();
    expect(checkTestOutput('hello\nversion 1.2\n', '^version \\d')).toBeUndefined();
    expect(checkTestOutput('x86_64\n', 'aarch64')?.reason).toBe('expectation-failed');
  });
});

it('redacts every secret, longest first', () => {
  const redact = redactor(['abc', 'abcdef']);
  expect(redact('x abcdef y abc')).toBe('x *** y ***');
});

it('makes run ids valid in tags and unique per call', () => {
  let n = 0;
  const random = () => (n += 0.37) % 1;
  const id = newRunId(new Date('2026-11-23T10:11:12Z'), random);
  expect(id).toMatch(/^20261123-101112-[0-9a-z]{6}$/);
  expect(newRunId(new Date('2026-11-23T10:11:12Z'), random)).not.toBe(id);
});

describe('exclusiveKey', async () => {
  const { exclusiveKey } = await import('../../src/exec/run.js');
  const base = { image: 'a', platforms: [], host: 'local', dependsOn: [], argv: [] };
  it('puts logins of one host, and tag moves into one repository, one at a time', () => {
    expect(exclusiveKey({ ...base, id: 'l', kind: 'login', server: 'r:5000', stdin: { env: 'X' } })).toBe(
      'authfile@local',
    );
    const v1 = exclusiveKey({ ...base, id: 'p1', kind: 'publish', repository: 'r:5000/a', tag: 'v1', stage: 's' });
    const latest = exclusiveKey({
      ...base,
      id: 'p2',
      kind: 'publish',
      repository: 'r:5000/a',
      tag: 'latest',
      stage: 's',
    });
    expect(v1).toBe('publish@r:5000/a');
    expect(latest).toBe(v1);
    expect(
      exclusiveKey({ ...base, id: 'p3', kind: 'publish', repository: 'r:5000/b', tag: 'v1', stage: 's' }),
    ).not.toBe(v1);
    expect(exclusiveKey({ ...base, id: 'b', kind: 'build' })).toBeUndefined();
  });
});

describe('pullRace', async () => {
  const { pullRace } = await import('../../src/exec/run.js');
  const build = (platforms: string[], pulls: string[], host = 'local') => ({
    id: platforms.join(),
    kind: 'build' as const,
    image: 'a',
    platforms,
    host,
    dependsOn: [],
    argv: [],
    pulls,
  });
  it('keeps builds that pull one name for different platforms apart, on one host only', () => {
    expect(pullRace(build(['linux/amd64'], ['b:1']), build(['linux/arm64'], ['b:1']))).toBe(true);
    expect(
      pullRace(build(['linux/amd64', 'linux/arm64'], ['b:1']), build(['linux/amd64', 'linux/arm64'], ['b:1'])),
    ).toBe(true);
    expect(pullRace(build(['linux/amd64'], ['b:1']), build(['linux/amd64'], ['b:1']))).toBe(false);
    expect(pullRace(build(['linux/amd64'], ['b:1']), build(['linux/arm64'], ['c:1']))).toBe(false);
    expect(pullRace(build(['linux/amd64'], ['b:1']), build(['linux/arm64'], ['b:1'], 'arm'))).toBe(false);
  });
});
