/**
 * A context directory named like an option, as a pull request can add one: it used to be
 * the last word of `podman build` with nothing before it, so podman took it for
 * `--volume=/tmp/x:/host` and the build's RUN steps wrote into the host's /tmp/x.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyze } from '../src/analyze.js';
import { resolveArgv } from '../src/exec/values.js';
import { platformOfNodeArch } from '../src/model/platform.js';
import { formatArg } from '../src/plan/commands.js';
import { planBuild } from '../src/plan/planner.js';
import type { Plan } from '../src/plan/types.js';

const CONTEXT = '--volume=/tmp/x:/host';
const NAME = `option-context-${process.pid}`;
const LOCAL = platformOfNodeArch(process.arch);
const dir = mkdtempSync(path.join(tmpdir(), 'orchestrate-option-context-'));
mkdirSync(path.join(dir, CONTEXT), { recursive: true });
// FROM scratch and COPY: nothing is pulled, nothing runs. `marker` exists only in the oddly named directory.
writeFileSync(path.join(dir, CONTEXT, 'Containerfile'), 'FROM scratch\nCOPY marker /marker\n');
writeFileSync(path.join(dir, CONTEXT, 'marker'), 'read from the context\n');

async function planFor(strategy: string): Promise<Plan> {
  writeFileSync(
    path.join(dir, 'multiarch.yaml'),
    `version: 1\nplatforms: [${LOCAL}]\nimages:\n  ${NAME}:\n    context: '${CONTEXT}'\n    strategy: ${strategy}\n`,
  );
  const analysis = await analyze({
    cwd: dir,
    configFile: 'multiarch.yaml',
    env: {},
    localPlatform: LOCAL,
    localJobs: 1,
  });
  if (!analysis.ok) throw new Error(analysis.diagnostics.map((d) => d.message).join('\n'));
  const planned = planBuild(analysis.value.model, { images: [], platforms: [], push: false });
  if (!planned.ok) throw new Error(planned.diagnostics.map((d) => d.message).join('\n'));
  return planned.value;
}

const hasPodman = spawnSync('podman', ['--version']).status === 0;
const builtImage = `localhost/orchestrate/${NAME}:${LOCAL.replaceAll('/', '-')}`;

afterAll(() => {
  if (hasPodman) spawnSync('podman', ['rmi', '--ignore', '--', builtImage]);
  rmSync(dir, { recursive: true, force: true });
});

describe('a context directory named --volume=/tmp/x:/host', () => {
  it.each(['manifest-first', 'per-arch'])(
    'is planned as the operand of podman build after `--` (%s)',
    async (strategy) => {
      const build = (await planFor(strategy)).tasks.find((t) => t.kind === 'build')!;
      const words = build.argv.map(formatArg);
      expect(words.slice(-2)).toEqual(['--', CONTEXT]);
      expect(words).toContain(`--file=${CONTEXT}/Containerfile`);
      expect(words.slice(0, -1)).not.toContain(CONTEXT);
    },
  );

  // Under CI podman is there (npm run setup): a missing podman must fail there, not skip.
  it.skipIf(!hasPodman && process.env['CI'] !== 'true')(
    'is read by podman itself as the build context, not as a bind mount',
    async () => {
      const plan = await planFor('per-arch');
      const build = plan.tasks.find((t) => t.kind === 'build')!;
      const resolved = resolveArgv(build, {
        runId: 'r',
        authfile: 'unused',
        digestFile: () => 'unused',
        digests: new Map(),
      });
      if (!resolved.ok) throw new Error(resolved.missing);
      const argv = resolved.argv;
      execFileSync(argv[0]!, argv.slice(1), { cwd: dir, stdio: 'pipe', timeout: 120_000 });
      const size = execFileSync('podman', ['image', 'inspect', '--format={{.Size}}', '--', builtImage], {
        encoding: 'utf8',
      });
      expect(Number(size)).toBeGreaterThan(0);
    },
    150_000,
  );
});
