import { describe, expect, it } from 'vitest';
import { canEmulate, checkPlatform, platformOfNodeArch } from '../src/model/platform.js';

describe('checkPlatform', () => {
  it('keeps variants as written', () => {
    expect(checkPlatform('linux/arm64/v8')).toEqual({ ok: true, platform: 'linux/arm64/v8' });
    expect(checkPlatform('linux/arm/v7')).toEqual({ ok: true, platform: 'linux/arm/v7' });
  });

  it('normalises the names people write for architectures, and says so', () => {
    expect(checkPlatform('linux/aarch64')).toEqual({
      ok: true,
      platform: 'linux/arm64',
      alias: { written: 'linux/aarch64' },
    });
    expect(checkPlatform('linux/x86_64')).toMatchObject({ ok: true, platform: 'linux/amd64' });
  });

  it('rejects what podman would not take, with a hint', () => {
    for (const bad of [
      'linux',
      'linux/',
      'linux/amd64/v9/x',
      'plan9/amd64',
      'linux/sparc',
      'linux/arm/v9',
      'linux/s390x/v1',
    ]) {
      const result = checkPlatform(bad);
      expect(result.ok, bad).toBe(false);
      if (!result.ok) expect(result.hint.length).toBeGreaterThan(0);
    }
  });
});

describe('emulation', () => {
  it('QEMU emulates Linux architectures, not other operating systems', () => {
    expect(canEmulate('linux/arm64')).toBe(true);
    expect(canEmulate('linux/s390x')).toBe(true);
    expect(canEmulate('windows/amd64')).toBe(false);
    expect(canEmulate('linux/loong64')).toBe(false);
  });

  it('maps Node architectures to platforms', () => {
    expect(platformOfNodeArch('x64')).toBe('linux/amd64');
    expect(platformOfNodeArch('arm64')).toBe('linux/arm64');
  });
});
