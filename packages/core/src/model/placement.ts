import { canEmulate, samePlatformFamily } from './platform.js';
import type { Host, Image } from './types.js';

export interface Placement {
  host: Host;
  emulated: boolean;
  /** Why there, in words, for the plan. */
  reason: string;
}

/**
 * Where one platform of an image is built, or undefined when nowhere can. The one rule,
 * used by the resolver (to report what cannot be built) and the planner (to place builds):
 * - an image that names its host is built there: natively, or under QEMU on that host;
 * - manifest-first builds every platform here, emulating what this machine lacks;
 * - per-arch builds on a declared host that runs the platform natively, else here.
 * Only Linux platforms can be emulated, and here only if hosts.local.emulate allows it.
 */
export function placePlatform(
  hosts: readonly Host[],
  image: Pick<Image, 'strategy' | 'host'>,
  platform: string,
): Placement | undefined {
  const local = hosts.find((h) => h.kind === 'local')!;
  const nativeOn = (host: Host) => host.platforms.some((p) => samePlatformFamily(p, platform));
  const emulates = (host: Host) => canEmulate(platform) && (host.kind === 'ssh' || host.emulate);
  const where = (host: Host) => (host.kind === 'local' ? 'here' : `on ${host.name}`);

  const pinned = image.host === undefined ? undefined : hosts.find((h) => h.name === image.host);
  if (pinned) {
    if (nativeOn(pinned))
      return { host: pinned, emulated: false, reason: `native ${where(pinned)} (the image's host)` };
    if (emulates(pinned))
      return { host: pinned, emulated: true, reason: `${where(pinned)} under QEMU emulation (the image's host)` };
    return undefined;
  }
  if (image.strategy === 'per-arch') {
    const remote = hosts.find((h) => h.kind === 'ssh' && nativeOn(h));
    if (remote && remote.kind === 'ssh') {
      const fallback =
        remote.fallback === 'emulate' && emulates(local) ? `; falls back to QEMU here if ${remote.name} fails` : '';
      return { host: remote, emulated: false, reason: `native on ${remote.name}${fallback}` };
    }
  }
  if (nativeOn(local)) return { host: local, emulated: false, reason: 'native here' };
  if (emulates(local)) {
    return {
      host: local,
      emulated: true,
      reason:
        image.strategy === 'per-arch'
          ? `here under QEMU emulation: no host builds ${platform} natively`
          : 'here under QEMU emulation',
    };
  }
  return undefined;
}
