/** `defaults:` merged into every image, and `x-` keys ignored anywhere. */
import { describe, expect, it } from 'vitest';
import { analyzeText } from './helpers.js';

const FILES = {
  'a/Containerfile': 'FROM docker.io/library/busybox\n',
  'b/Containerfile': 'FROM docker.io/library/busybox\n',
};

describe('defaults and x- keys', () => {
  it('mappings merge key by key (the image wins), everything else is replaced whole', () => {
    const { model, diagnostics } = analyzeText(
      `version: 1
platforms: [linux/amd64]
defaults:
  platforms: [linux/amd64, linux/arm64]
  tags: ["1.0", latest]
  buildArgs: { BASE: docker.io/library/busybox, MODE: prod }
  strategy: per-arch
images:
  a: { context: a }
  b: { context: b, tags: [edge], buildArgs: { MODE: dev }, platforms: [linux/arm64] }
`,
      { files: FILES },
    );
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const [a, b] = model!.images;
    expect(a).toMatchObject({
      platforms: ['linux/amd64', 'linux/arm64'],
      tags: ['1.0', 'latest'],
      strategy: 'per-arch',
    });
    expect(a!.buildArgs).toEqual({ BASE: 'docker.io/library/busybox', MODE: 'prod' });
    expect(b).toMatchObject({ platforms: ['linux/arm64'], tags: ['edge'], strategy: 'per-arch' });
    expect(b!.buildArgs).toEqual({ BASE: 'docker.io/library/busybox', MODE: 'dev' });
  });

  it('a problem in a default is reported where the default is written', () => {
    const { diagnostics } = analyzeText(
      `version: 1
defaults:
  tags: ["bad tag"]
images:
  a: { context: a }
`,
      { files: FILES },
    );
    expect(diagnostics).toContainEqual(
      expect.objectContaining({
        code: 'invalid-value',
        range: expect.objectContaining({ start: { line: 3, col: 10 } }),
      }),
    );
  });

  it('x- keys are ignored at the top and in every object of fixed keys, so YAML anchors have a home; x- names are names', () => {
    const { model, diagnostics } = analyzeText(
      `version: 1
x-anchors:
  platforms: &platforms [linux/amd64]
  args: &args { BASE: docker.io/library/busybox }
registries:
  x-prod: { url: 127.0.0.1:5000/acme, x-note: a registry named x-prod }
images:
  a: { platforms: *platforms, buildArgs: *args, context: a, x-note: anything }
`,
      { files: FILES },
    );
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(model!.images.map((i) => i.name)).toEqual(['a']);
    // In maps of names the user chose, x- is a name: kept.
    expect(model!.registries.map((r) => r.name)).toEqual(['x-prod']);
    expect(model!.images[0]).toMatchObject({
      platforms: ['linux/amd64'],
      buildArgs: { BASE: 'docker.io/library/busybox' },
    });
  });

  it('an unknown key in defaults is a diagnostic with a suggestion', () => {
    const { diagnostics } = analyzeText(`version: 1\ndefaults:\n  tag: [x]\nimages:\n  a: { context: a }\n`, {
      files: FILES,
    });
    expect(diagnostics).toContainEqual(expect.objectContaining({ code: 'unknown-key', hint: 'did you mean "tags"?' }));
  });

  it('a YAML merge key (<<, YAML 1.1) is not read, and the hint says what to use', () => {
    const { diagnostics } = analyzeText(`version: 1\nx-c: &c { tags: [x] }\nimages:\n  a: { <<: *c, context: a }\n`, {
      files: FILES,
    });
    expect(diagnostics).toContainEqual(
      expect.objectContaining({ code: 'unknown-key', hint: expect.stringContaining('defaults:') }),
    );
  });
});
