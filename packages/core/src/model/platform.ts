/**
 * Platform strings: parsing, the aliases people write (aarch64, x86_64) and what QEMU can emulate.
 * Variants are kept as written: linux/arm64/v8 and linux/arm/v7 stay as they are.
 */

export const KNOWN_OS = ['linux', 'windows', 'freebsd', 'darwin'] as const;
export const KNOWN_ARCH = [
  'amd64',
  'arm64',
  'arm',
  '386',
  'ppc64le',
  's390x',
  'riscv64',
  'mips64le',
  'loong64',
] as const;
const ARCH_ALIASES: Record<string, string> = {
  x86_64: 'amd64',
  'x86-64': 'amd64',
  aarch64: 'arm64',
  armhf: 'arm',
  armel: 'arm',
  i386: '386',
  i686: '386',
  ppc64el: 'ppc64le',
};
const VARIANTS: Record<string, readonly string[]> = {
  arm: ['v5', 'v6', 'v7', 'v8'],
  arm64: ['v8', 'v9'],
  amd64: ['v1', 'v2', 'v3', 'v4'],
};
/** Linux architectures with a qemu-user-static binfmt handler on Debian. */
const EMULATABLE_ARCH = new Set(['amd64', 'arm64', 'arm', '386', 'ppc64le', 's390x', 'riscv64', 'mips64le']);

export type PlatformCheck =
  { ok: true; platform: string; alias?: { written: string } } | { ok: false; reason: string; hint: string };

export function checkPlatform(written: string): PlatformCheck {
  const parts = written.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) {
    return {
      ok: false,
      reason: `"${written}" is not os/arch or os/arch/variant`,
      hint: 'e.g. "linux/arm64" or "linux/arm/v7"',
    };
  }
  const [os, writtenArch, variant] = parts as [string, string, string | undefined];
  if (!(KNOWN_OS as readonly string[]).includes(os)) {
    return {
      ok: false,
      reason: `unknown operating system "${os}" in "${written}"`,
      hint: `known: ${KNOWN_OS.join(', ')}`,
    };
  }
  const arch = ARCH_ALIASES[writtenArch] ?? writtenArch;
  if (!(KNOWN_ARCH as readonly string[]).includes(arch)) {
    return {
      ok: false,
      reason: `unknown architecture "${writtenArch}" in "${written}"`,
      hint: `known: ${KNOWN_ARCH.join(', ')}`,
    };
  }
  if (variant !== undefined && !(VARIANTS[arch] ?? []).includes(variant)) {
    const known = VARIANTS[arch];
    return {
      ok: false,
      reason: `"${variant}" is not a variant of ${arch}`,
      hint: known ? `variants of ${arch}: ${known.join(', ')}` : `${arch} has no variants: write "${os}/${arch}"`,
    };
  }
  const platform = [os, arch, ...(variant === undefined ? [] : [variant])].join('/');
  return arch === writtenArch ? { ok: true, platform } : { ok: true, platform, alias: { written } };
}

export function canEmulate(platform: string): boolean {
  const [os, arch] = platform.split('/');
  return os === 'linux' && arch !== undefined && EMULATABLE_ARCH.has(arch);
}

/** Node's `process.arch` to the platform podman builds natively on this machine. */
export function platformOfNodeArch(arch: string): string {
  const map: Record<string, string> = {
    x64: 'linux/amd64',
    arm64: 'linux/arm64',
    arm: 'linux/arm/v7',
    ia32: 'linux/386',
    ppc64: 'linux/ppc64le',
    s390x: 'linux/s390x',
    riscv64: 'linux/riscv64',
    loong64: 'linux/loong64',
  };
  return map[arch] ?? `linux/${arch}`;
}

/** `linux/arm/v7` -> `linux-arm-v7`, for tags and file names. */
export function platformSlug(platform: string): string {
  return platform.replaceAll('/', '-');
}

/** Same os and arch: linux/arm64 and linux/arm64/v8 are built by the same machine. */
export function samePlatformFamily(a: string, b: string): boolean {
  return a === b || familyOf(a) === familyOf(b);
}

/** `linux/arm64/v8` -> `linux/arm64`. */
function familyOf(platform: string): string {
  const second = platform.indexOf('/', platform.indexOf('/') + 1);
  return second < 0 ? platform : platform.slice(0, second);
}
