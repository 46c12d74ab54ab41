/**
 * An image of a given architecture to run `uname -m` in, found or made without the network:
 * doctor never pulls. Made once from a static busybox already on this machine (the
 * busybox-static .debs `npm run setup` keeps, apt's cache, or /bin/busybox for its own
 * architecture) and kept in local storage as localhost/orchestrate-doctor/busybox:PLATFORM.
 */
import { open, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Runner } from '../exec/runner.js';
import { platformSlug } from '../model/platform.js';
import { archOf } from './interpret.js';
import { readElf } from './elf.js';

export const PROBE_REPOSITORY = 'localhost/orchestrate-doctor/busybox';

/** Where static busybox binaries and .debs are looked for. */
export interface ProbeSources {
  binaries: readonly string[];
  debDirs: readonly string[];
}

export const DEFAULT_PROBE_SOURCES: ProbeSources = {
  binaries: ['/bin/busybox', '/usr/bin/busybox'],
  debDirs: ['/var/cache/orchestrate/debs', '/var/cache/apt/archives'],
};

/** OCI architecture -> Debian's name for it. */
const DEBIAN_ARCH: Readonly<Record<string, string>> = {
  amd64: 'amd64',
  arm64: 'arm64',
  arm: 'armhf',
  '386': 'i386',
  ppc64le: 'ppc64el',
  s390x: 's390x',
  riscv64: 'riscv64',
  mips64le: 'mips64el',
};

export type ProbeImage = { image: string } | { missing: string };

type Run = (argv: string[], cwd: string) => Promise<{ exitCode: number; stderr: string }>;

/** The probe image for `platform`: the one kept from before, or made now; `missing` says why there is none. */
export async function probeImage(
  platform: string,
  runner: Runner,
  sources: ProbeSources = DEFAULT_PROBE_SOURCES,
): Promise<ProbeImage> {
  const image = `${PROBE_REPOSITORY}:${platformSlug(platform)}`;
  const run: Run = (argv, cwd) => runner.run({ argv, cwd }, { signal: AbortSignal.timeout(120_000), onLine: () => {} });
  if ((await run(['podman', 'image', 'exists', image], tmpdir())).exitCode === 0) return { image };
  const arch = archOf(platform);
  const work = await mkdtemp(path.join(tmpdir(), 'orchestrate-doctor-'));
  try {
    const binary = await staticBusybox(arch, sources, work, run);
    if (binary === undefined)
      return { missing: `no static busybox for ${arch} on this machine, and doctor does not pull images` };
    const made = await importImage(platform, binary, image, work, run);
    return made ?? { image };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** A static busybox of `arch`: a binary on the machine, or the one in a busybox-static .deb (unpacked into `work`). */
async function staticBusybox(arch: string, sources: ProbeSources, work: string, run: Run): Promise<string | undefined> {
  for (const file of sources.binaries) if (await isStaticOf(file, arch)) return file;
  const debArch = DEBIAN_ARCH[arch];
  if (debArch === undefined) return undefined;
  for (const dir of sources.debDirs) {
    const debs = (await readdir(dir).catch(() => [] as string[]))
      .filter((f) => f.startsWith('busybox-static_') && f.endsWith(`_${debArch}.deb`))
      .sort();
    const deb = debs.at(-1);
    if (deb === undefined) continue;
    const unpacked = path.join(work, 'deb');
    if ((await run(['dpkg-deb', '-x', '--', path.join(dir, deb), unpacked], work)).exitCode !== 0) continue;
    const binary = path.join(unpacked, 'bin/busybox');
    if (await isStaticOf(binary, arch)) return binary;
  }
  return undefined;
}

async function isStaticOf(file: string, arch: string): Promise<boolean> {
  const handle = await open(file, 'r').catch(() => undefined);
  if (!handle) return false;
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(4096), 0, 4096, 0);
    const elf = readElf(buffer.subarray(0, bytesRead));
    return elf?.arch === arch && elf.static;
  } finally {
    await handle.close();
  }
}

/** An image holding only /bin/busybox, of the platform's architecture. */
async function importImage(
  platform: string,
  binary: string,
  image: string,
  work: string,
  run: Run,
): Promise<ProbeImage | undefined> {
  const [os, arch, variant] = platform.split('/');
  const tar = path.join(work, 'rootfs.tar');
  const root = path.join(work, 'rootfs');
  const steps = [
    ['mkdir', '-p', '--', path.join(root, 'bin')],
    ['cp', '--', binary, path.join(root, 'bin/busybox')],
    ['tar', '-C', root, '--numeric-owner', '--owner=0', '--group=0', '-cf', tar, 'bin'],
    [
      'podman',
      'import',
      '--quiet',
      '--os',
      os ?? 'linux',
      '--arch',
      arch ?? '',
      ...(variant === undefined ? [] : ['--variant', variant]),
      '--message',
      'orchestrate doctor: static busybox, to run uname -m',
      '--',
      tar,
      image,
    ],
  ];
  for (const argv of steps) {
    const outcome = await run(argv, work);
    if (outcome.exitCode !== 0)
      return {
        missing: `could not make ${image}: ${argv[0]} failed: ${outcome.stderr.trim().split('\n').at(-1) ?? ''}`,
      };
  }
  return undefined;
}

/** `uname -m` in the probe image, as that platform. */
export function unameArgv(image: string, platform: string): string[] {
  return [
    'podman',
    'run',
    '--rm',
    '--pull=never',
    '--network=none',
    '--platform',
    platform,
    '--entrypoint',
    '/bin/busybox',
    image,
    'uname',
    '-m',
  ];
}
