import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readElf } from '../../src/doctor/elf.js';

/** A 64-bit ELF header with `phnum` program headers of the given types. */
function elf64(machine: number, littleEndian: boolean, types: number[]): Buffer {
  const buffer = Buffer.alloc(64 + 56 * types.length);
  buffer.writeUInt32BE(0x7f454c46, 0);
  buffer[4] = 2;
  buffer[5] = littleEndian ? 1 : 2;
  const u16 = (v: number, at: number) => (littleEndian ? buffer.writeUInt16LE(v, at) : buffer.writeUInt16BE(v, at));
  const u32 = (v: number, at: number) => (littleEndian ? buffer.writeUInt32LE(v, at) : buffer.writeUInt32BE(v, at));
  u16(machine, 18);
  if (littleEndian) buffer.writeBigUInt64LE(64n, 32);
  else buffer.writeBigUInt64BE(64n, 32);
  u16(56, 54);
  u16(types.length, 56);
  types.forEach((t, i) => u32(t, 64 + 56 * i));
  return buffer;
}

describe('readElf', () => {
  it('tells the architecture (big-endian s390x too) and whether a loader is needed', () => {
    expect(readElf(elf64(62, true, [1, 1]))).toEqual({ arch: 'amd64', static: true });
    expect(readElf(elf64(62, true, [6, 3, 1]))).toEqual({ arch: 'amd64', static: false });
    expect(readElf(elf64(22, false, [1]))).toEqual({ arch: 's390x', static: true });
    expect(readElf(elf64(183, true, [1]))?.arch).toBe('arm64');
    expect(readElf(Buffer.from('#!/bin/sh\necho hi\n'.padEnd(80)))).toBeUndefined();
  });

  it.skipIf(!existsSync('/bin/sh'))('reads a real dynamic binary as not static', () => {
    expect(readElf(readFileSync('/bin/sh').subarray(0, 4096))?.static).toBe(false);
  });
});
