/**
 * podman and skopeo do not show a 429's Retry-After header, so when a registry
 * rate-limits us we ask it once ourselves for the same manifest and honour what it says.
 * Trusts the CA podman trusts for that registry (containers-certs.d).
 */
import { readdir, readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { homedir } from 'node:os';
import path from 'node:path';
import { parseRetryAfter, policyOf, type Plan, type PlanTask, type RunValues } from '@multiarch/core';

const PROBE_TIMEOUT_MS = 5000;

/**
 * The manifest a registry task reads or writes, as server and /v2/ path: the staged list a
 * verify or publish reads by digest, an outside image a pull copies; else the repository's
 * `latest` (a rate limit answers for the whole registry). From the task's fields, not its argv.
 */
export function manifestOf(task: PlanTask, values: RunValues): { server: string; path: string } | undefined {
  const byDigest = (repository: string, stage: string) => {
    const digest = values.digests.get(stage);
    return digest === undefined ? repository : `${repository}@${digest}`;
  };
  const reference =
    task.kind === 'verify' || task.kind === 'publish'
      ? byDigest(task.repository, task.stage)
      : task.kind === 'pull'
        ? task.source
        : policyOf(task).registries(task)[0];
  const match =
    reference === undefined ? null : /^([^/]+)\/(.+?)(?:@(sha256:[0-9a-f]+)|:([\w][\w.-]*))?$/.exec(reference);
  if (!match) return undefined;
  const [, server, repository, digest, tag] = match;
  return { server: server!, path: `/v2/${repository}/manifests/${digest ?? tag ?? 'latest'}` };
}

/** Asks the registry for the same manifest (GET, no credentials): a 429 there says how long to wait. */
export function registryRetryAfter(plan: Plan): (task: PlanTask, values: RunValues) => Promise<number | undefined> {
  return async (task, values) => {
    const manifest = manifestOf(task, values);
    if (manifest === undefined) return undefined;
    const tlsVerify = Object.values(plan.registries).find((r) => r.server === manifest.server)?.tlsVerify ?? true;
    return probe(manifest.server, manifest.path, tlsVerify).catch(() => undefined);
  };
}

async function probe(server: string, requestPath: string, tlsVerify: boolean): Promise<number | undefined> {
  const ca = tlsVerify ? await trustedCas(server) : [];
  return new Promise((resolve) => {
    const req = request(
      {
        host: server.split(':')[0],
        port: Number(server.split(':')[1] ?? 443),
        path: requestPath,
        method: 'GET',
        timeout: PROBE_TIMEOUT_MS,
        rejectUnauthorized: tlsVerify,
        ...(ca.length > 0 && { ca }),
      },
      (res) => {
        res.resume();
        const header = res.headers['retry-after'];
        resolve(
          res.statusCode === 429
            ? parseRetryAfter(typeof header === 'string' ? header : undefined, Date.now())
            : undefined,
        );
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
  const dirs = [
    path.join('/etc/containers/certs.d', server),
    path.join(homedir(), '.config/containers/certs.d', server),
  ];
  const extra: string[] = [];
  for (const dir of dirs) {
    const files = await readdir(dir).catch(() => [] as string[]);
    for (const file of files.filter((f) => f.endsWith('.crt')))
      extra.push(await readFile(path.join(dir, file), 'utf8'));
  }
  return extra.length > 0 ? [...rootCertificates, ...extra] : [];
}
