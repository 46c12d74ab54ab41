/**
 * Each translation of the table, from the real failure: skopeo 1.9 and podman 4.3 against
 * servers this test starts on loopback (a registry API answering as Docker Hub and the
 * distribution spec do, a TLS server with a self-signed certificate), and a network
 * namespace of its own, with nothing but lo, for DNS. Nothing leaves this machine.
 * Needs root (the namespace) and skopeo/podman: skipped without them, except under CI=true.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diagnoseExit, type Attempt, type Diagnosis } from '../../src/exec/failure.js';

function unavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root, for a network namespace of its own';
  try {
    for (const tool of ['skopeo', 'podman']) execFileSync(tool, ['--version'], { stdio: 'ignore' });
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    return 'skopeo, podman, ip or openssl is missing: run `npm run setup`';
  }
  return undefined;
}

const DOCKER_HUB_429 = {
  errors: [
    {
      code: 'TOOMANYREQUESTS',
      message:
        'You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit',
    },
  ],
};
const distributionError = (code: string, message: string): object => ({ errors: [{ code, message, detail: null }] });
const BASIC = { 'www-authenticate': 'Basic realm="Registry Realm"' };

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const servers: Server[] = [];
let work = '';

/** A registry API on 127.0.0.1 that answers /v2/ as a registry and everything else with `handler`. */
async function registry(handler: Handler, options: { ping?: 200 | 401 } = {}): Promise<string> {
  const server = createHttp((req, res) => {
    res.setHeader('docker-distribution-api-version', 'registry/2.0');
    res.setHeader('content-type', 'application/json');
    if (req.url === '/v2/') {
      res.writeHead(options.ping ?? 200, options.ping === 401 ? BASIC : {});
      res.end(
        options.ping === 401 ? JSON.stringify(distributionError('UNAUTHORIZED', 'authentication required')) : '{}',
      );
      return;
    }
    handler(req, res);
  });
  return listen(server);
}

async function listen(server: Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return `127.0.0.1:${address.port}`;
}

const answer =
  (status: number, body: object, headers: Record<string, string> = {}): Handler =>
  (_req, res) => {
    res.writeHead(status, headers);
    res.end(JSON.stringify(body));
  };

/** Runs the tool as build and doctor do, with an empty authfile, and reads its failure. */
async function diagnose(argv: string[], attempt: Attempt, options: { input?: string } = {}): Promise<Diagnosis> {
  const [command, ...args] = argv;
  const result = await execa(command!, args, {
    reject: false,
    timeout: 60_000,
    env: { REGISTRY_AUTH_FILE: path.join(work, 'auth.json') },
    ...(options.input !== undefined && { input: options.input }),
  });
  expect(result.exitCode, result.stderr).not.toBe(0);
  return diagnoseExit(result.exitCode ?? 1, result.stderr, attempt);
}

/** A one-layer image in an OCI layout, for pushes: no registry, no base image needed. */
function ociImage(dir: string): string {
  mkdirSync(path.join(dir, 'blobs/sha256'), { recursive: true });
  const blob = (content: Buffer): { digest: string; size: number } => {
    const hex = createHash('sha256').update(content).digest('hex');
    writeFileSync(path.join(dir, 'blobs/sha256', hex), content);
    return { digest: `sha256:${hex}`, size: content.length };
  };
  const layer = blob(Buffer.alloc(1024)); // an empty tar: two zero blocks
  const config = blob(
    Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] } }),
    ),
  );
  const manifest = blob(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
      }),
    ),
  );
  writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    path.join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifest,
          annotations: { 'org.opencontainers.image.ref.name': '1.0' },
        },
      ],
    }),
  );
  return `oci:${dir}:1.0`;
}

const why = unavailable();
describe.skipIf(why !== undefined && process.env['CI'] !== 'true')('real failures, translated', () => {
  beforeAll(() => {
    work = mkdtempSync(path.join(tmpdir(), 'failure-real-'));
    writeFileSync(path.join(work, 'auth.json'), '{"auths":{}}');
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    rmSync(work, { recursive: true, force: true });
  });

  it("Docker Hub's 429 toomanyrequests: log in, or a registries.conf mirror", async () => {
    // Docker Hub sends no Retry-After; c/image then retries a 429 itself for 30 s. `0` keeps the test short.
    const host = await registry(answer(429, DOCKER_HUB_429, { 'retry-after': '0' }));
    const { failure, transient, rateLimited } = await diagnose(
      ['skopeo', 'inspect', '--tls-verify=false', `docker://${host}/acme/base:1.0`],
      { op: 'inspect' },
    );
    expect(failure.reason).toBe('registry-unavailable');
    expect([transient, rateLimited]).toEqual([true, true]);
    expect(failure.message).toBe(`the registry refused ${host}/acme/base:1.0: its pull rate limit was reached (429)`);
    expect(failure.hint).toContain(`[[registry]] location = "${host}" with [[registry.mirror]]`);
    expect(failure.output?.join('\n')).toContain('toomanyrequests: You have reached your pull rate limit');
  });

  it('404 MANIFEST_UNKNOWN names the reference, from podman pull', async () => {
    const host = await registry(answer(404, distributionError('MANIFEST_UNKNOWN', 'manifest unknown')));
    const { failure, transient } = await diagnose(['podman', 'pull', '--tls-verify=false', `${host}/acme/base:1.0`], {
      op: 'pull',
    });
    expect(failure.reason).toBe('image-not-found');
    expect(transient).toBe(false);
    expect(failure.message).toBe(
      `${host}/acme/base:1.0 does not exist: the registry has no manifest for that tag (manifest unknown)`,
    );
  });

  it.each([
    ['401 UNAUTHORIZED', 401, 'UNAUTHORIZED', 'the registry wants credentials to read'],
    ['403 DENIED', 403, 'DENIED', 'the registry refused to let this account read'],
  ] as const)('a pull answered %s: log in, check the name', async (_what, status, code, words) => {
    const body = distributionError(
      code,
      status === 401 ? 'authentication required' : 'requested access to the resource is denied',
    );
    const host = await registry(answer(status, body, status === 401 ? BASIC : {}), { ping: 401 });
    const { failure } = await diagnose(['skopeo', 'inspect', '--tls-verify=false', `docker://${host}/acme/base:1.0`], {
      op: 'pull',
    });
    expect(failure.reason).toBe('registry-auth');
    expect(failure.message).toBe(`${words} ${host}/acme/base:1.0 (${code.toLowerCase()})`);
    expect(failure.hint).toMatch(/^log in .*check the name/);
  });

  it.each([
    ['401 UNAUTHORIZED', 401, 'UNAUTHORIZED', /^the registry wants credentials to push to/, /an `auth:`/],
    ['403 DENIED', 403, 'DENIED', /^this account has no right to push to/, /write access/],
  ] as const)(
    'a push answered %s: credentials, or no right to push there',
    async (_what, status, code, words, hint) => {
      // The registry lets the client look (HEAD: no such blob) and refuses the upload, as distribution does.
      const host = await registry((req, res) => {
        const message = status === 401 ? 'authentication required' : 'requested access to the resource is denied';
        if (req.method === 'HEAD') answer(404, {})(req, res);
        else answer(status, distributionError(code, message), status === 401 ? BASIC : {})(req, res);
      });
      const source = ociImage(path.join(work, `oci-${status}`));
      const { failure } = await diagnose(
        ['skopeo', 'copy', '--dest-tls-verify=false', source, `docker://${host}/acme/base:1.0`],
        { op: 'push' },
      );
      expect(failure.reason).toBe('registry-auth');
      expect(failure.message).toMatch(words);
      expect(failure.message).toContain(`${host}/acme/base`);
      expect(failure.hint).toMatch(hint);
    },
  );

  it('a login with a wrong password', async () => {
    const host = await registry(answer(401, {}), { ping: 401 });
    const { failure } = await diagnose(
      [
        'podman',
        'login',
        '--tls-verify=false',
        '--authfile',
        path.join(work, 'auth.json'),
        '-u',
        'someone',
        '--password-stdin',
        host,
      ],
      { op: 'login', server: host },
      { input: 'wrong\n' },
    );
    expect(failure.reason).toBe('registry-auth');
    expect(failure.message).toBe(`${host} refused the login: wrong username or password`);
  });

  describe('TLS', () => {
    let tlsHost = '';
    let certDir = '';
    beforeAll(async () => {
      // Made out to localhost only: trusted (--cert-dir) it still fails for 127.0.0.1, for the other reason.
      certDir = path.join(work, 'certs');
      mkdirSync(certDir);
      const [key, cert] = [path.join(work, 'key.pem'), path.join(certDir, 'ca.crt')];
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
        '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-keyout', key, '-out', cert,
      ], { stdio: 'ignore' }); // prettier-ignore
      const server = createHttps({ key: readFileSync(key), cert: readFileSync(cert) }, (_req, res) => {
        res.writeHead(200, { 'docker-distribution-api-version': 'registry/2.0' });
        res.end('{}');
      });
      tlsHost = (await listen(server)).replace('127.0.0.1', 'localhost');
    });

    it('x509 unknown authority: the certs.d path of that registry, system and per-user', async () => {
      const { failure } = await diagnose(['skopeo', 'inspect', `docker://${tlsHost}/acme/base:1.0`], { op: 'inspect' });
      expect(failure.reason).toBe('registry-tls');
      expect(failure.message).toBe(
        `${tlsHost} presented a certificate this host does not trust (certificate signed by unknown authority)`,
      );
      expect(failure.hint).toContain(`/etc/containers/certs.d/${tlsHost}/ca.crt`);
      expect(failure.hint).toContain(`~/.config/containers/certs.d/${tlsHost}/ca.crt`);
    });

    it('x509 for a name the certificate is not made out to', async () => {
      const byAddress = tlsHost.replace('localhost', '127.0.0.1');
      const { failure } = await diagnose(
        ['skopeo', 'inspect', '--cert-dir', certDir, `docker://${byAddress}/acme/base:1.0`],
        { op: 'inspect' },
      );
      expect(failure.reason).toBe('registry-tls');
      expect(failure.message).toContain(`the certificate of ${byAddress} is not made out to that name`);
      expect(failure.hint).toContain('subjectAltName');
    });
  });

  describe('DNS, in a network namespace with nothing but lo', () => {
    const netns = `orch-dns-${process.pid}`;
    const etc = `/etc/netns/${netns}`;
    let resolver: ChildProcess | undefined;
    beforeAll(() => {
      execFileSync('ip', ['netns', 'add', netns]);
      execFileSync('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
      // `ip netns exec` binds these over /etc: the resolver is 127.0.0.1 inside the namespace, and only DNS after files.
      mkdirSync(etc, { recursive: true });
      writeFileSync(path.join(etc, 'resolv.conf'), 'nameserver 127.0.0.1\n');
      writeFileSync(path.join(etc, 'nsswitch.conf'), 'hosts: files dns\n');
      writeFileSync(path.join(etc, 'hosts'), '127.0.0.1 localhost\n');
    });
    afterAll(() => {
      resolver?.kill();
      execFileSync('ip', ['netns', 'del', netns]);
      rmSync(etc, { recursive: true, force: true });
    });
    const inspect = ['ip', 'netns', 'exec', netns, 'skopeo', 'inspect', 'docker://registry.example.com/acme/base:1.0'];

    it('has no way out: lo is its only link, and it has no route', () => {
      const links = execFileSync('ip', ['-n', netns, '-o', 'link'], { encoding: 'utf8' });
      expect(
        links
          .trim()
          .split('\n')
          .map((l) => l.split(': ')[1]),
      ).toEqual(['lo']);
      expect(execFileSync('ip', ['-n', netns, 'route'], { encoding: 'utf8' }).trim()).toBe('');
    });

    it('a DNS server that does not answer', async () => {
      const { failure, transient } = await diagnose(inspect, { op: 'pull' });
      expect(failure.reason).toBe('registry-dns');
      expect(transient).toBe(true);
      expect(failure.message).toBe(
        'cannot look up registry.example.com: the DNS server 127.0.0.1:53 did not answer (connection refused)',
      );
    });

    it('no such host (NXDOMAIN) names the host', async () => {
      // A resolver inside the namespace that knows no name: every query answered NXDOMAIN.
      const script = path.join(work, 'nxdomain.mjs');
      writeFileSync(
        script,
        `import dgram from 'node:dgram';
const socket = dgram.createSocket('udp4');
socket.on('message', (query, from) => {
  const reply = Buffer.from(query);
  reply[2] = 0x80 | (query[2] & 0x79); reply[3] = 0x83; // a response, recursion available, NXDOMAIN
  reply.writeUInt16BE(0, 6); reply.writeUInt16BE(0, 8); reply.writeUInt16BE(0, 10);
  socket.send(reply, from.port, from.address);
});
socket.bind(53, '127.0.0.1', () => console.log('ready'));
`,
      );
      resolver = spawn('ip', ['netns', 'exec', netns, process.execPath, script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((resolve, reject) => {
        resolver!.stdout!.once('data', () => resolve());
        resolver!.once('exit', (code) => reject(new Error(`the resolver exited with ${code}`)));
      });
      const { failure, transient } = await diagnose(inspect, { op: 'pull' });
      expect(failure.reason).toBe('registry-dns');
      expect(transient).toBe(false);
      expect(failure.message).toBe(
        'registry.example.com does not resolve: the DNS server 127.0.0.1:53 says no such host',
      );
      expect(failure.hint).toContain('check the name registry.example.com');
    });
  });
});
