import type { Host, Image, Registry } from '../model/types.js';
import type { PlanHost, PlanRegistry } from './types.js';

/** The plan's view of a registry: how credentials are obtained, never the secret. */
export function describeRegistry(registry: Registry): PlanRegistry {
  const auth =
    registry.auth.kind === 'password-env' ? (`env:${registry.auth.passwordEnv}` as const) : registry.auth.kind;
  return {
    url: registry.url,
    server: registry.server,
    tlsVerify: registry.tlsVerify,
    auth,
    ...(registry.auth.kind === 'authfile' && { authfile: registry.auth.path }),
  };
}

export function describeHost(host: Host): PlanHost {
  if (host.kind === 'local')
    return { kind: 'local', jobs: host.jobs, platforms: host.platforms, emulate: host.emulate };
  return {
    kind: 'ssh',
    jobs: host.jobs,
    platforms: host.platforms,
    ...(host.ssh && { address: `${host.ssh.user}@${host.ssh.host}:${host.ssh.port}` }),
    ...(host.connection !== undefined && { connection: host.connection }),
    ...(host.identityFile !== undefined && { identityFile: host.identityFile }),
    ...(host.knownHosts !== undefined && { knownHosts: host.knownHosts }),
    connectTimeout: host.connectTimeout,
    ...(host.workdir !== undefined && { workdir: host.workdir }),
    fallback: host.fallback,
  };
}

/** The local list is named as the image's first final reference (or localhost/REPOSITORY:TAG when it goes nowhere). */
export function listName(image: Image, registry: Registry | undefined): string {
  const tag = image.tags[0] ?? 'latest';
  return registry ? `${registry.url}/${image.repository}:${tag}` : `localhost/${image.repository}:${tag}`;
}

export function podmanOn(host: Host): string {
  return host.kind === 'ssh' ? host.podman : 'podman';
}

/** The image's `timeout:` as a field of its build and test tasks (nothing without one). */
export function timeoutOf(image: Pick<Image, 'timeoutMs'>): { timeoutMs?: number } {
  return image.timeoutMs === undefined ? {} : { timeoutMs: image.timeoutMs };
}
