/**
 * The translation table on output captured from skopeo 1.9 and podman 4.3 (failure-real.test.ts
 * makes each of these happen against servers on loopback): the words, the fix, what was kept.
 */
import { describe, expect, it } from 'vitest';
import { diagnoseExit, type Attempt } from '../../src/exec/failure.js';

const logrus = (msg: string): string => `time="2026-12-02T03:44:00Z" level=fatal msg="${msg.replace(/"/g, '\\"')}"`;
const RATE_BODY =
  'You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit';

describe('the translation table', () => {
  it("Docker Hub's pull rate limit: log in or use a mirror, named in registries.conf", () => {
    const text = logrus(
      `Error parsing image name "docker://docker.io/acme/base:1.0": reading manifest 1.0 in docker.io/acme/base: toomanyrequests: ${RATE_BODY}`,
    );
    const { failure, transient, rateLimited } = diagnoseExit(1, text, { op: 'pull' });
    expect(failure.reason).toBe('registry-unavailable');
    expect([transient, rateLimited]).toEqual([true, true]);
    expect(failure.message).toBe('the registry refused docker.io/acme/base:1.0: its pull rate limit was reached (429)');
    expect(failure.hint).toMatch(/log in .*auth:/);
    expect(failure.hint).toContain('/etc/containers/registries.conf');
    expect(failure.hint).toContain('[[registry]] location = "docker.io" with [[registry.mirror]]');
  });

  it('a rate-limited push is not told to use a pull mirror', () => {
    const text =
      'Error: writing manifest: uploading manifest 1.0 to r.example:5000/acme/base: toomanyrequests: slow down';
    expect(diagnoseExit(1, text, { op: 'push' }).failure.hint).not.toContain('mirror');
  });

  it.each([
    ['localhost:5605', 'pinging container registry localhost:5605: Get "https://localhost:5605/v2/"'],
    ['registry.example.com', 'pinging container registry registry.example.com: Get "https://registry.example.com/v2/"'],
  ])('x509 unknown authority names the certs.d directory of %s, system and per-user', (server, prefix) => {
    const text = `Error: initializing source docker://${server}/acme/base:1.0: ${prefix}: x509: certificate signed by unknown authority`;
    const { failure } = diagnoseExit(125, text, { op: 'pull' });
    expect(failure.reason).toBe('registry-tls');
    expect(failure.message).toBe(
      `${server} presented a certificate this host does not trust (certificate signed by unknown authority)`,
    );
    expect(failure.hint).toContain(`/etc/containers/certs.d/${server}/ca.crt`);
    expect(failure.hint).toContain(`~/.config/containers/certs.d/${server}/ca.crt`);
  });

  it('x509 for the wrong name says to use the right name, not to trust a CA', () => {
    const text =
      'Error: pinging container registry 127.0.0.1:5605: Get "https://127.0.0.1:5605/v2/": x509: certificate is valid for localhost, not 127.0.0.1';
    const { failure } = diagnoseExit(125, text, { op: 'inspect' });
    expect(failure.reason).toBe('registry-tls');
    expect(failure.message).toContain('not made out to that name');
    expect(failure.hint).toContain('subjectAltName');
    expect(failure.hint).not.toContain('certs.d');
  });

  it('a login over an untrusted certificate names the server it was logging in to', () => {
    const text =
      'Error: authenticating creds for "localhost:5605": pinging container registry localhost:5605: Get "https://localhost:5605/v2/": x509: certificate signed by unknown authority';
    expect(diagnoseExit(125, text, { op: 'login', server: 'localhost:5605' }).failure.hint).toContain(
      '/etc/containers/certs.d/localhost:5605/ca.crt',
    );
  });

  it('no such host names the host, and is not retried', () => {
    const text = logrus(
      'Error parsing image name "docker://registry.example.com/acme/base:1.0": pinging container registry registry.example.com: Get "https://registry.example.com/v2/": dial tcp: lookup registry.example.com on 127.0.0.1:53: no such host',
    );
    const { failure, transient } = diagnoseExit(1, text, { op: 'pull' });
    expect(failure.reason).toBe('registry-dns');
    expect(transient).toBe(false);
    expect(failure.message).toBe(
      'registry.example.com does not resolve: the DNS server 127.0.0.1:53 says no such host',
    );
    expect(failure.hint).toContain('check the name registry.example.com');
  });

  it('a DNS server that does not answer is a DNS failure, not the registry refusing a connection', () => {
    const text =
      'Get "https://registry.example.com/v2/": dial tcp: lookup registry.example.com on 127.0.0.1:53: read udp 127.0.0.1:48545->127.0.0.1:53: read: connection refused';
    const { failure, transient } = diagnoseExit(1, text, { op: 'pull' });
    expect(failure.reason).toBe('registry-dns');
    expect(transient).toBe(true);
    expect(failure.message).toBe(
      'cannot look up registry.example.com: the DNS server 127.0.0.1:53 did not answer (connection refused)',
    );
    expect(failure.hint).toContain('/etc/resolv.conf');
  });

  it.each([
    [
      'a tag',
      'Error: initializing source docker://127.0.0.1:5602/acme/base:1.0: reading manifest 1.0 in 127.0.0.1:5602/acme/base: manifest unknown: manifest unknown',
      '127.0.0.1:5602/acme/base:1.0 does not exist: the registry has no manifest for that tag (manifest unknown)',
    ],
    [
      'a digest',
      'reading manifest sha256:0123 in r.example/acme/base: manifest unknown: manifest unknown',
      'r.example/acme/base@sha256:0123 does not exist: the registry has no manifest for that digest (manifest unknown)',
    ],
  ])('manifest unknown names the reference (%s)', (_what, text, message) => {
    const { failure, transient } = diagnoseExit(1, logrus(text), { op: 'inspect' });
    expect(failure.reason).toBe('image-not-found');
    expect(transient).toBe(false);
    expect(failure.message).toBe(message);
  });

  const pull: Attempt = { op: 'pull' };
  const push: Attempt = { op: 'push' };
  it.each([
    [
      pull,
      'Error: initializing source docker://127.0.0.1:5603/acme/base:1.0: reading manifest 1.0 in 127.0.0.1:5603/acme/base: unauthorized',
      'the registry wants credentials to read 127.0.0.1:5603/acme/base:1.0 (unauthorized)',
      /log in .* check the name 127\.0\.0\.1:5603\/acme\/base:1\.0/,
    ],
    [
      pull,
      'Error: initializing source docker://127.0.0.1:5604/acme/base:1.0: reading manifest 1.0 in 127.0.0.1:5604/acme/base: denied',
      'the registry refused to let this account read 127.0.0.1:5604/acme/base:1.0 (denied)',
      /log in .* check the name/,
    ],
    [
      push,
      'writing blob: initiating layer upload to /v2/acme/base/blobs/uploads/ in 127.0.0.1:5606: unauthorized',
      'the registry wants credentials to push to 127.0.0.1:5606/acme/base (unauthorized)',
      /give the registry an `auth:`/,
    ],
    [
      push,
      'writing blob: initiating layer upload to /v2/acme/base/blobs/uploads/ in 127.0.0.1:5607: denied',
      'this account has no right to push to 127.0.0.1:5607/acme/base (denied)',
      /write access to 127\.0\.0\.1:5607\/acme\/base/,
    ],
  ] as const)('%o: %s', (attempt, text, message, hint) => {
    const { failure } = diagnoseExit(1, logrus(text), attempt);
    expect(failure.reason).toBe('registry-auth');
    expect(failure.message).toBe(message);
    expect(failure.hint).toMatch(hint);
  });

  it('the reference the caller names wins over what the output says', () => {
    const text = 'writing manifest: uploading manifest 1.0 to r.example/acme/base: denied';
    expect(diagnoseExit(1, text, { op: 'push', reference: 'r.example/acme/base:2.0' }).failure.message).toContain(
      'push to r.example/acme/base:2.0',
    );
  });

  it("a filesystem's permission denied is not a registry's", () => {
    expect(diagnoseExit(1, 'Error: open /var/lib/x: permission denied').failure.reason).toBe('command-failed');
  });

  it("keeps the tool's own words, its last lines, for the report and --verbose", () => {
    const noise = Array.from({ length: 50 }, (_, i) => `STEP ${i}`).join('\n');
    const { failure } = diagnoseExit(1, `${noise}\nError: reading manifest 1.0 in r.example/a: manifest unknown\n`);
    expect(failure.output).toHaveLength(30);
    expect(failure.output?.[0]).toBe('STEP 21');
    expect(failure.output?.at(-1)).toMatch(/manifest unknown$/);
  });

  it('an ssh attempt reads ssh first, then the table', () => {
    const target = { name: 'arm', host: '10.0.0.2', port: 22, user: 'build' };
    const lost = diagnoseExit(255, 'Host key verification failed.', { op: 'ssh', target });
    expect(lost.failure.reason).toBe('host-key');
    expect(lost.failure.output).toEqual(['Host key verification failed.']);
    expect(diagnoseExit(1, 'sh: 1: exec: skopeo: not found', { op: 'ssh', target }).failure.reason).toBe(
      'command-not-found',
    );
  });
});

describe('a build: registry words count only in podman’s own lines', () => {
  it('a RUN step’s npm 401 or a compiler line with 502 is the step failing, not the registry', () => {
    const npm =
      'STEP 2/2: RUN npm ci\nnpm ERR! code E401\nnpm ERR! 401 Unauthorized - GET https://npm.example.com/x\nError: building at STEP "RUN npm ci": while running runtime: exit status 1\n';
    expect(diagnoseExit(1, npm, { op: 'build' }).failure.reason).toBe('command-failed');
    const cc =
      'src/x.c:502: error: expected ;\nError: building at STEP "RUN make": while running runtime: exit status 2\n';
    expect(diagnoseExit(2, cc, { op: 'build' }).failure.reason).toBe('command-failed');
  });

  it('podman’s own registry failure of a base is still translated', () => {
    const pulled =
      'STEP 1/2: FROM localhost:5000/a/b:1\nError: creating build container: initializing source docker://localhost:5000/a/b:1: reading manifest 1 in localhost:5000/a/b: unauthorized: authentication required\n';
    expect(diagnoseExit(125, pulled, { op: 'build' }).failure.reason).toBe('registry-auth');
    expect(
      diagnoseExit(1, 'exec /bin/sh: exec format error\nError: building at STEP "RUN x"\n', { op: 'build' }).failure
        .reason,
    ).toBe('emulation-missing');
  });
});
