import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { analyzeSource } from '../src/analyze.js';
import { parseYamlSpec } from '../src/config/source.js';
import { planBuild } from '../src/plan/planner.js';
import type { Plan } from '../src/plan/types.js';
import { memoryFiles } from './helpers.js';

/** Mostly valid values, with the typical mistake one time in `odds`. */
const mostly = <T, U>(valid: fc.Arbitrary<T>, mistake: fc.Arbitrary<U>, odds = 12): fc.Arbitrary<T | U> =>
  fc.oneof({ arbitrary: valid, weight: odds - 1 }, { arbitrary: mistake, weight: 1 });

const IMAGE_NAMES = ['base', 'api', 'web', 'worker'];
const PLATFORM = mostly(
  fc.constantFrom('linux/amd64', 'linux/arm64', 'linux/s390x', 'linux/arm/v7', 'linux/arm64/v8'),
  fc.constantFrom('linux/aarch64', 'windows/amd64', 'linux-amd64'),
);
const platforms = (min: number) => fc.uniqueArray(PLATFORM, { minLength: min, maxLength: 3 });

const registry = fc.record(
  {
    url: mostly(
      fc.constantFrom('registry.example.com/team', 'localhost:5000/x'),
      fc.constantFrom('acme', 'https://quay.io/acme', 'ghcr.io/Acme'),
    ),
    auth: mostly(
      fc.oneof(
        fc.record({ username: fc.constant('ci'), passwordEnv: fc.constant('REG_TOKEN') }),
        fc.record({ authfile: fc.constant('auth.json') }),
      ),
      fc.oneof(
        fc.record({ password: fc.constant('hunter2') }),
        fc.record({ username: fc.constant('ci'), passwordEnv: fc.constantFrom('ghp_0123456789abcdef', 'bad name') }),
      ),
    ),
    tlsVerify: fc.boolean(),
  },
  { requiredKeys: ['url'] },
);

const host = fc.record(
  {
    ssh: mostly(
      fc.constantFrom('builder@arm1.example.com:22', 'builder@arm1', 'b@[::1]:2222'),
      fc.constantFrom('-oProxyCommand=x@h', 'b@host;reboot', 'nobody'),
    ),
    platforms: platforms(1),
    jobs: mostly(fc.constantFrom(1, 2), fc.constantFrom(0, 'two')),
    fallback: fc.constantFrom('emulate', 'fail'),
  },
  { requiredKeys: ['ssh', 'platforms'] },
);

const image = fc
  .record(
    {
      context: mostly(fc.constantFrom('ctx/a', 'ctx/b', 'ctx/c'), fc.constant('missing')),
      tags: fc.uniqueArray(
        mostly(
          fc.constantFrom('v1', 'latest', '${TAG}', '${TAG:-dev}'),
          fc.constantFrom('${NOPE}', 'bad tag', '.hidden'),
        ),
        { minLength: 1, maxLength: 3 },
      ),
      platforms: platforms(1),
      strategy: mostly(fc.constantFrom('manifest-first', 'per-arch'), fc.constant('per_arch')),
      host: mostly(fc.constantFrom('local', 'arm1'), fc.constant('nope')),
      registries: fc.uniqueArray(mostly(fc.constantFrom('hub', 'ghcr'), fc.constant('nope')), { maxLength: 2 }),
      dependsOn: fc.uniqueArray(mostly(fc.constantFrom(...IMAGE_NAMES), fc.constant('zz')), { maxLength: 2 }),
      buildArgs: fc.dictionary(
        fc.constantFrom('A', 'B'),
        mostly(fc.constantFrom('x', '${TAG}'), fc.constant('${REG_TOKEN}')),
      ),
      test: fc.record(
        {
          command: fc.constant(['uname', '-m']),
          expect: mostly(fc.constantFrom('x86_64', { 'linux/amd64': 'x86_64' }), fc.constant('(')),
        },
        { requiredKeys: ['command'] },
      ),
      contxt: fc.constant('typo'),
    },
    { requiredKeys: ['context'] },
  )
  .map((value) => {
    // The typo key appears now and then, not in half the images.
    const { contxt, ...rest } = value;
    return contxt !== undefined && rest.tags?.[0] === '.hidden' ? value : rest;
  });

const spec = fc
  .record(
    {
      version: mostly(fc.constant(1), fc.constant(2), 30),
      variables: fc.record(
        {
          TAG: fc.constantFrom('dev', '${MISSING:-x}'),
          A: mostly(fc.constant('a'), fc.constant('${B}')),
          B: mostly(fc.constant('${TAG}'), fc.constant('${A}')),
        },
        { requiredKeys: ['TAG'] },
      ),
      platforms: platforms(1),
      strategy: fc.constantFrom('manifest-first', 'per-arch'),
      registries: fc.dictionary(fc.constantFrom('hub', 'ghcr'), registry, { maxKeys: 2 }),
      hosts: fc.dictionary(mostly(fc.constantFrom('arm1', 's390'), fc.constant('local')), host, { maxKeys: 2 }),
      images: fc.dictionary(fc.constantFrom(...IMAGE_NAMES), image, { minKeys: 1, maxKeys: 4 }),
    },
    { requiredKeys: ['version', 'images'] },
  )
  .chain((data) =>
    // Now and then keep references to images and registries that do not exist, or that loop.
    fc.constantFrom(true, false, false, false, false, false).map((keepMistakes) => {
      if (keepMistakes) return data;
      const names = Object.keys(data.images);
      const registries = Object.keys(data.registries ?? {});
      const images = Object.fromEntries(
        names.map((name, i) => {
          const image = data.images[name]!;
          return [
            name,
            {
              ...image,
              dependsOn: image.dependsOn?.filter((d) => names.indexOf(d) >= 0 && names.indexOf(d) < i),
              registries: image.registries?.filter((r) => registries.includes(r)),
            },
          ];
        }),
      );
      return { ...data, images };
    }),
  );

/** Containerfiles whose FROM lines name other images of the spec, so cycles and inference happen too. */
const containerfiles = fc.record({
  'ctx/a/Containerfile': fc.constantFrom(
    'FROM docker.io/library/busybox\n',
    'FROM registry.example.com/team/base:v1\n',
    'FROM alpine\n',
  ),
  'ctx/b/Containerfile': fc.constantFrom('ARG R=localhost:5000/x\nFROM ${R}/api\n', 'FROM scratch\n'),
  'ctx/c/Containerfile': fc.constantFrom(
    'FROM registry.example.com/team/web AS web\nFROM web\nCOPY --from=localhost/tools /a /a\n',
    'FROM \n',
  ),
});

const filters = fc.record({
  images: fc.uniqueArray(mostly(fc.constantFrom(...IMAGE_NAMES), fc.constant('zz')), { maxLength: 2 }),
  // Mostly unfiltered: a --platform that matches nothing is an error, and must not drown the plans.
  platforms: mostly(fc.constant<string[]>([]), fc.uniqueArray(PLATFORM, { maxLength: 2 }), 3),
  push: fc.boolean(),
});

function checkInvariants(plan: Plan): void {
  const position = new Map(plan.tasks.map((task, i) => [task.id, i]));
  expect(position.size).toBe(plan.tasks.length);
  plan.tasks.forEach((task, i) => {
    for (const dependency of task.dependsOn) {
      expect(position.has(dependency), `${task.id} depends on missing ${dependency}`).toBe(true);
      expect(position.get(dependency)!, `${task.id} comes before ${dependency}`).toBeLessThan(i);
    }
    expect(task.argv.length).toBeGreaterThan(0);
  });
  for (const [name, image] of Object.entries(plan.images)) {
    const built = new Set(plan.tasks.filter((t) => t.kind === 'build' && t.image === name).flatMap((t) => t.platforms));
    expect([...built].sort()).toEqual([...image.platforms].sort());
    const publishes = plan.tasks.filter((t) => t.kind === 'publish' && t.image === name);
    const verifies = plan.tasks.filter((t) => t.kind === 'verify' && t.image === name).map((t) => t.id);
    // Deferred publish: no tag moves before every registry of the image verified its list.
    for (const publish of publishes) expect(publish.dependsOn).toEqual(verifies);
    if (!plan.filters.push) expect(publishes).toEqual([]);
  }
}

describe('random specs', () => {
  it('either plan with every invariant intact, or give diagnostics with places; never throw', () => {
    let planned = 0;
    let rejected = 0;
    fc.assert(
      fc.property(spec, containerfiles, filters, (data, files, filter) => {
        const text = stringify(data);
        const parsed = parseYamlSpec('multiarch.yaml', text);
        expect(parsed.ok).toBe(true);
        if (!parsed.ok) return;
        // The fast parser (js-yaml) and the one with ranges (yaml) must read the same data.
        expect(parsed.value.data).toEqual(parse(text));
        const lines = text.split('\n').length;
        const analysis = analyzeSource(parsed.value, {
          env: { REG_TOKEN: 'tok' },
          localPlatform: 'linux/amd64',
          localJobs: 2,
          files: memoryFiles(files, ['ctx/a', 'ctx/b', 'ctx/c']),
        });
        for (const d of analysis.diagnostics) {
          expect(d.message.length).toBeGreaterThan(0);
          if (d.file === 'multiarch.yaml' && d.range) expect(d.range.start.line).toBeLessThanOrEqual(lines);
        }
        if (!analysis.ok) {
          expect(analysis.diagnostics.some((d) => d.severity === 'error')).toBe(true);
          rejected++;
          return;
        }
        const result = planBuild(analysis.value.model, filter);
        if (!result.ok) {
          expect(result.diagnostics.length).toBeGreaterThan(0);
          return;
        }
        expect(JSON.stringify(result.value)).not.toContain('"tok"');
        checkInvariants(result.value);
        planned++;
      }),
      { numRuns: 400, seed: 20261123 },
    );
    // The generators must reach both outcomes, or this property proves little.
    expect(planned).toBeGreaterThan(10);
    expect(rejected).toBeGreaterThan(10);
  });

  it('never throw on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        const parsed = parseYamlSpec('multiarch.yaml', text);
        if (parsed.ok)
          analyzeSource(parsed.value, { env: {}, localPlatform: 'linux/amd64', localJobs: 1, files: memoryFiles({}) });
      }),
      { numRuns: 300, seed: 7 },
    );
  });
});
