/**
 * podman and skopeo do not show a 429's Retry-After header, so when a registry
 * rate-limits us we ask it once ourselves (GET /v2/) and honour what it says.
 * Trusts the CA podman trusts for that registry (containers-certs.d).
 */
import { readdir, readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { homedir } from 'node:os';
import path from 'node:path';
import { formatArg, parseRetryAfter, type Plan, type PlanTask } from '@multiarch/core';

const PROBE_TIMEOUT_MS = 5000;

/** The registry server a task talks to: the host of its last docker:// reference. */
export function registryServerOf(task: PlanTask): string | undefined {
  const references = task.argv.map(formatArg).filter((a) => a.startsWith('docker://'));
  const last = references.at(-1);
  return last?.slice('docker://'.length).split('/')[0];
}

export function registryRetryAfter(plan: Plan): (task: PlanTask) => Promise<number | undefined> {
  return async (task) => {
    const server = registryServerOf(task);
    if (server === undefined) return undefined;
    const tlsVerify = Object.values(plan.registries).find((r) => r.server === server)?.tlsVerify ?? true;
    return probe(server, tlsVerify).catch(() => undefined);
  };
}

async function probe(server: string, tlsVerify: boolean): Promise<number | undefined> {
  const ca = tlsVerify ? await trustedCas(server) : [];
  return new Promise((resolve) => {
    const req = request(
      { host: server.split(':')[0], port: Number(server.split(':')[1] ?? 443), path: '/v2/', method: 'GET', timeout: PROBE_TIMEOUT_MS, rejectUnauthorized: tlsVerify, ...(ca.length > 0 && { ca }) },
      (res) => {
        res.resume();
        const header = res.headers['retry-after'];
        resolve(res.statusCode === 429 ? parseRetryAfter(Array.isArray(header) ? header[0] : header, Date.now()) : undefined);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

/** The CA files podman would trust for this registry, plus the system's. */
async function trustedCas(server: string): Promise<string[]> {
  const { rootCertificates } = await import('node:tls');
  const dirs = [path.join('/etc/containers/certs.d', server), path.join(homedir(), '.config/containers/certs.d', server)];
  const extra: string[] = [];
  for (const dir of dirs) {
    const files = await readdir(dir).catch(() => [] as string[]);
    for (const file of files.filter((f) => f.endsWith('.crt'))) extra.push(await readFile(path.join(dir, file), 'utf8'));
  }
  return extra.length > 0 ? [...rootCertificates, ...extra] : [];
}
