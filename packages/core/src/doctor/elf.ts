/**
 * Enough of an ELF header to tell whether a binary can be the whole of a probe image: its
 * architecture, and whether it is static (no PT_INTERP: it needs no loader or libraries in
 * the image). Pure: reads the first bytes of the file.
 */

const PT_INTERP = 3;

/** e_machine (and class, for the ones shared by 32 and 64 bits) -> OCI architecture. */
function architecture(machine: number, is64: boolean, littleEndian: boolean): string | undefined {
  switch (machine) {
    case 62:
      return 'amd64';
    case 183:
      return 'arm64';
    case 40:
      return 'arm';
    case 3:
      return '386';
    case 22:
      return is64 ? 's390x' : undefined;
    case 21:
      return is64 && littleEndian ? 'ppc64le' : undefined;
    case 243:
      return is64 ? 'riscv64' : undefined;
    case 8:
      return is64 && littleEndian ? 'mips64le' : undefined;
    default:
      return undefined;
  }
}

export interface ElfInfo {
  arch: string | undefined;
  static: boolean;
}

/** Undefined when `bytes` is not (the start of) an ELF executable with its program headers. */
export function readElf(bytes: Buffer): ElfInfo | undefined {
  if (bytes.length < 64 || bytes.readUInt32BE(0) !== 0x7f454c46) return undefined;
  const is64 = bytes[4] === 2;
  const littleEndian = bytes[5] === 1;
  const u16 = (at: number): number => (littleEndian ? bytes.readUInt16LE(at) : bytes.readUInt16BE(at));
  const u32 = (at: number): number => (littleEndian ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at));
  const phoff = is64 ? Number(littleEndian ? bytes.readBigUInt64LE(32) : bytes.readBigUInt64BE(32)) : u32(28);
  const phentsize = u16(is64 ? 54 : 42);
  const phnum = u16(is64 ? 56 : 44);
  if (phnum === 0 || phoff + phnum * phentsize > bytes.length) return undefined;
  let interp = false;
  for (let i = 0; i < phnum; i++) if (u32(phoff + i * phentsize) === PT_INTERP) interp = true;
  return { arch: architecture(u16(18), is64, littleEndian), static: !interp };
}
