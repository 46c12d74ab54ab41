import { describe, expect, it } from 'vitest';
import { planBuild } from '../src/plan/planner.js';
import { modelOf } from './helpers.js';

const SPEC = 'version: 1\nplatforms: [linux/amd64, linux/arm64]\nimages:\n  app:\n    context: app\n';

describe('selectImages: filters as given on the command line', () => {
  it('refuses an empty --image or --platform, saying which, rather than selecting everything', () => {
    const model = modelOf(SPEC);
    const image = planBuild(model, { images: [''], platforms: [], push: true });
    expect(image.ok).toBe(false);
    expect(image.diagnostics).toEqual([
      {
        severity: 'error',
        code: 'filter-no-match',
        message: '--image is empty',
        hint: 'name an image of the spec, or leave --image out',
      },
    ]);
    const platform = planBuild(model, { images: [], platforms: [' '], push: true });
    expect(platform.ok).toBe(false);
    expect(platform.diagnostics).toMatchObject([{ code: 'invalid-platform', message: '--platform is empty' }]);
  });

  it("checks a platform with the spec's own parser, and spells it as podman does", () => {
    const model = modelOf(SPEC);
    expect(planBuild(model, { images: [], platforms: ['linux'], push: true }).diagnostics).toMatchObject([
      { code: 'invalid-platform', message: '--platform linux: "linux" is not os/arch or os/arch/variant' },
    ]);
    const aliased = planBuild(model, { images: [], platforms: ['linux/aarch64'], push: true });
    expect(aliased.ok && aliased.value.tasks.some((t) => t.platforms?.includes('linux/arm64'))).toBe(true);
  });
});
