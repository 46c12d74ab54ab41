/** Build secrets in the spec and the plan: where values come from, never the values. */
import { describe, expect, it } from 'vitest';
import { planBuild } from '../src/plan/planner.js';
import { formatArg } from '../src/plan/commands.js';
import type { Plan, PlanTask } from '../src/plan/types.js';
import { analyzeText, modelOf } from './helpers.js';

const SPEC = `version: 1
platforms: [linux/amd64, linux/arm64]
registries:
  reg: { url: registry.example.com/team }
hosts:
  arm1: { ssh: builder@arm1.example.com, platforms: [linux/arm64] }
secrets:
  npm: { env: NPM_TOKEN }
  pip: { file: secrets/pip.conf }
images:
  app:
    context: app
    strategy: per-arch
    secrets:
      pip: { env: PIP_CONF }
  mf: { context: mf, platforms: [linux/amd64] }
`;
const FILES = {
  'app/Containerfile': 'FROM docker.io/library/busybox\n',
  'mf/Containerfile': 'FROM docker.io/library/busybox\n',
  'secrets/pip.conf': '[global]\n',
};

function plan(text = SPEC): Plan {
  const result = planBuild(modelOf(text, { files: FILES }), {});
  if (!result.ok) throw new Error(result.diagnostics.map((d) => d.message).join('\n'));
  return result.value;
}
const argv = (t: PlanTask | undefined) => (t?.argv ?? []).map(formatArg).join(' ');
const byId = (p: Plan, id: string) => p.tasks.find((t) => t.id === id);

describe('build secrets', () => {
  it('names each source once; an image’s own secret replaces the top-level one of its id', () => {
    const p = plan();
    expect(p.secrets).toEqual({
      'env-NPM_TOKEN': { env: 'NPM_TOKEN' },
      'env-PIP_CONF': { env: 'PIP_CONF' },
      'file-1': { file: 'secrets/pip.conf' },
    });
    expect(argv(byId(p, 'build:app:linux/amd64'))).toContain(
      '--secret=id=npm,src=<secret-file env-NPM_TOKEN> --secret=id=pip,src=<secret-file env-PIP_CONF>',
    );
    expect(argv(byId(p, 'build:mf'))).toContain(
      '--secret=id=npm,src=<secret-file env-NPM_TOKEN> --secret=id=pip,src=<secret-file file-1>',
    );
  });

  it('a build host gets each secret once, on stdin, before the builds that read it', () => {
    const p = plan();
    const sends = p.tasks.filter((t) => t.kind === 'secret');
    expect(sends.map((t) => t.id)).toEqual(['secret:env-NPM_TOKEN@arm1', 'secret:env-PIP_CONF@arm1']);
    expect(argv(sends[0])).toBe('sh -c umask 077 && mkdir -p secrets && cat > "secrets/$1" sh env-NPM_TOKEN');
    expect(byId(p, 'build:app:linux/arm64')?.dependsOn).toEqual(
      expect.arrayContaining(['secret:env-NPM_TOKEN@arm1', 'secret:env-PIP_CONF@arm1']),
    );
    // Nothing a plan holds is a value: only names of variables and files.
    expect(JSON.stringify(p)).not.toMatch(/\[global\]/);
  });

  it('a secret file that does not exist is an error at its place; a comma in its path is refused by the schema', () => {
    const missing = analyzeText(SPEC.replace('secrets/pip.conf', 'secrets/nope.conf'), { files: FILES });
    expect(missing.diagnostics).toContainEqual(
      expect.objectContaining({
        code: 'file-unreadable',
        range: expect.objectContaining({ start: { line: 9, col: 16 } }),
      }),
    );
    const comma = analyzeText(SPEC.replace('secrets/pip.conf', 'a,b'), { files: FILES });
    expect(comma.diagnostics.some((d) => d.severity === 'error' && d.range?.start.line === 9)).toBe(true);
  });

  it('warns of a build arg that looks like a secret, and refuses one that reads a secret variable', () => {
    const looks = analyzeText(
      SPEC.replace(
        '    strategy: per-arch\n',
        '    strategy: per-arch\n    buildArgs: { GITHUB_TOKEN: x, KEYRING: y }\n',
      ),
      {
        files: FILES,
      },
    );
    const warned = looks.diagnostics.filter((d) => d.code === 'secret-build-arg');
    expect(warned.map((d) => d.message)).toEqual([
      expect.stringContaining('build arg GITHUB_TOKEN looks like a secret'),
    ]);
    expect(warned[0]?.hint).toContain('secrets: { github_token: { env: GITHUB_TOKEN } }');
    const reads = analyzeText(
      SPEC.replace('    strategy: per-arch\n', '    strategy: per-arch\n    buildArgs: { X: "${NPM_TOKEN}" }\n'),
      {
        files: FILES,
        env: { NPM_TOKEN: 'abc' },
      },
    );
    expect(reads.diagnostics).toContainEqual(
      expect.objectContaining({ code: 'secret-in-argument', severity: 'error' }),
    );
  });
});
