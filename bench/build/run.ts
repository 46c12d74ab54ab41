/**
 * bench/build: the monorepo example built by `orchestrate build` against the same builds
 * done by bench/build/serial.sh (plain podman commands, one after another), in one run,
 * cold (a base image and build cache neither has seen) and warm (each one's own cache).
 *
 * Prints both wall times and the ratio, orchestrate's own overhead per task, and the
 * makespan against the DAG's lower bound max(critical path, total work / jobs).
 * Needs root, podman and docker-registry (npm run setup); loopback only.
 *
 *   npx tsx bench/build/run.ts [--rounds N] [--json] [--keep]   (--keep: leave the logs and reports)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunReport, TaskReport } from '@multiarch/core';
import { pushBaseImages } from '../../packages/cli/test/e2e/fixture/base-images.js';
import { run, startRegistry } from '../../packages/cli/test/e2e/fixture/registry.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const MONOREPO = path.join(REPO, 'examples/monorepo');
const CLI = path.join(REPO, 'packages/cli/bin/orchestrate.js');
const json = process.argv.includes('--json');
const roundsAt = process.argv.indexOf('--rounds');
/** The machine is noisy (QEMU, two cores): repeat cold+warm, each round with fresh base images. */
const rounds = roundsAt >= 0 ? Math.max(1, Number(process.argv[roundsAt + 1])) : 3;
const log = (text: string): void => void process.stderr.write(`${text}\n`);

function timed(command: string, args: string[], env: Record<string, string>, logFile: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const out = openSync(logFile, 'w');
    const child = spawn(command, args, { cwd: MONOREPO, env: { ...process.env, ...env }, stdio: ['ignore', out, out] });
    child.on('close', (code) =>
      code === 0
        ? resolve(performance.now() - started)
        : reject(new Error(`${command} exited ${code}: see ${logFile}`)),
    );
  });
}

/** Longest chain of task durations through the DAG. */
function criticalPath(tasks: readonly TaskReport[], dependsOn: ReadonlyMap<string, readonly string[]>): number {
  const finish = new Map<string, number>();
  for (const task of tasks) {
    const before = Math.max(0, ...(dependsOn.get(task.id) ?? []).map((id) => finish.get(id) ?? 0));
    finish.set(task.id, before + (task.durationMs ?? 0));
  }
  return Math.max(0, ...finish.values());
}

interface Figures {
  serialMs: number;
  orchestrateMs: number;
  ratio: number;
  makespanMs: number;
  criticalPathMs: number;
  workOverJobsMs: number;
  hostBoundMs: number;
  jobs: number;
  workByKindMs: Record<string, number>;
  lowerBoundMs: number;
  makespanOverBound: number;
  tasks: number;
  inTaskOverheadMeanMs: number;
  inTaskOverheadMaxMs: number;
  dispatchMedianMs: number;
  startupMs: number;
  retried: string[];
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/build runs podman as root');
  const work = mkdtempSync(path.join(tmpdir(), 'orchestrate-bench-build-'));
  const registry = await startRegistry(path.join(work, 'registry'));
  try {
    log(`registry ${registry.host}; making the base images`);
    // Each contender gets its own base image (same files, other layers): neither finds the
    // other's build cache, so "cold" is cold for both and "warm" is each one's own cache.
    const platforms = ['linux/amd64', 'linux/arm64', 'linux/s390x'];
    const authfile = path.join(work, 'auth.json');
    await run(
      'podman',
      ['login', '--authfile', authfile, '--username', registry.username, '--password-stdin', registry.host],
      { input: registry.password },
    );
    const planned = JSON.parse(
      (await run(process.execPath, [CLI, 'plan', '--format', 'json'], { cwd: MONOREPO })).stdout,
    ) as { tasks: { id: string; dependsOn: string[] }[]; hosts: Record<string, { jobs: number }> };
    const dependsOn = new Map(planned.tasks.map((t) => [t.id, t.dependsOn]));

    const results: Record<string, Figures>[] = [];
    for (let round = 1; round <= rounds; round++) {
      const serialBase = await pushBaseImages(
        registry,
        path.join(work, `base-serial-${round}`),
        platforms,
        `serial-r${round}/busybox:1.36`,
      );
      const orchestrateBase = await pushBaseImages(
        registry,
        path.join(work, `base-orchestrate-${round}`),
        platforms,
        `orchestrate-r${round}/busybox:1.36`,
      );
      const figures: Record<string, Figures> = {};
      results.push(figures);
      for (const phase of ['cold', 'warm'] as const) {
        const tag = `bench-${phase}-r${round}`;
        log(`round ${round}, ${phase}: serial script`);
        const serialMs = await timed(
          'bash',
          [path.join(REPO, 'bench/build/serial.sh')],
          {
            INTERNAL: `${registry.host}/serial/acme`,
            PUBLIC: `${registry.host}/serial-public/acme`,
            TAG: tag,
            BASE: serialBase,
            AUTHFILE: authfile,
          },
          path.join(work, `serial-${phase}-${round}.log`),
        );
        log(`round ${round}, ${phase}: orchestrate build`);
        const report = path.join(work, `report-${phase}-${round}.json`);
        const started = Date.now();
        const orchestrateMs = await timed(
          process.execPath,
          [CLI, 'build', '--report', report],
          {
            CI: 'true',
            INTERNAL_REGISTRY: `${registry.host}/orch`,
            PUBLIC_REGISTRY: `${registry.host}/orch-public`,
            REGISTRY_USER: registry.username,
            INTERNAL_TOKEN: registry.password,
            PUBLIC_TOKEN: registry.password,
            BASE_IMAGE: orchestrateBase,
            GIT_SHA: tag,
          },
          path.join(work, `orchestrate-${phase}-${round}.log`),
        );
        const parsed = JSON.parse(readFileSync(report, 'utf8')) as RunReport;
        const ran = parsed.tasks.filter((t) => t.start !== undefined);
        const endOf = new Map(ran.map((t) => [t.id, Date.parse(t.end!)]));
        const runStart = Date.parse(parsed.startedAt);
        const dispatch = ran
          .map(
            (t) =>
              Date.parse(t.start!) -
              Math.max(runStart, ...(dependsOn.get(t.id) ?? []).map((id) => endOf.get(id) ?? runStart)),
          )
          .sort((a, b) => a - b);
        // Tasks that were retried spent their backoff outside any process: that is waiting, not overhead.
        const overheads = ran.filter((t) => t.retries === 0).map((t) => (t.durationMs ?? 0) - (t.processMs ?? 0));
        const retried = ran.filter((t) => t.retries > 0).map((t) => `${t.id} (${t.retries})`);
        const work_ = ran.reduce((sum, t) => sum + (t.durationMs ?? 0), 0);
        const makespanMs =
          Math.max(...ran.map((t) => Date.parse(t.end!))) - Math.min(...ran.map((t) => Date.parse(t.start!)));
        const criticalPathMs = criticalPath(ran, dependsOn);
        // Builds and tests also share their host's jobs: that is a lower bound too.
        const hostBoundMs = Math.max(
          0,
          ...Object.entries(planned.hosts).map(
            ([name, host]) =>
              ran
                .filter((t) => t.host === name && (t.kind === 'build' || t.kind === 'test'))
                .reduce((sum, t) => sum + (t.durationMs ?? 0), 0) / host.jobs,
          ),
        );
        const lowerBoundMs = Math.max(criticalPathMs, work_ / parsed.jobs, hostBoundMs);
        const byKind: Record<string, number> = {};
        for (const t of ran) byKind[t.kind] = (byKind[t.kind] ?? 0) + (t.durationMs ?? 0);
        figures[phase] = {
          serialMs: Math.round(serialMs),
          orchestrateMs: Math.round(orchestrateMs),
          ratio: +(serialMs / orchestrateMs).toFixed(2),
          makespanMs,
          criticalPathMs,
          workOverJobsMs: Math.round(work_ / parsed.jobs),
          hostBoundMs: Math.round(hostBoundMs),
          jobs: parsed.jobs,
          workByKindMs: byKind,
          lowerBoundMs: Math.round(lowerBoundMs),
          makespanOverBound: +(makespanMs / lowerBoundMs).toFixed(3),
          tasks: ran.length,
          inTaskOverheadMeanMs: +(overheads.reduce((a, b) => a + b, 0) / overheads.length).toFixed(1),
          inTaskOverheadMaxMs: Math.max(...overheads),
          dispatchMedianMs: dispatch[Math.floor(dispatch.length / 2)] ?? 0,
          startupMs: runStart - started,
          retried,
        };
      }
    }
    if (json) {
      process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    } else {
      for (const [index, figures] of results.entries())
        for (const [phase, f] of Object.entries(figures)) {
          process.stdout.write(
            [
              `round ${index + 1}, ${phase}: serial script ${(f.serialMs / 1000).toFixed(1)} s, orchestrate ${(f.orchestrateMs / 1000).toFixed(1)} s: ${f.ratio}x faster`,
              `  makespan ${(f.makespanMs / 1000).toFixed(1)} s vs lower bound ${(f.lowerBoundMs / 1000).toFixed(1)} s (critical path ${(f.criticalPathMs / 1000).toFixed(1)} s, work/jobs ${(f.workOverJobsMs / 1000).toFixed(1)} s with jobs ${f.jobs}, builds+tests per host/host jobs ${(f.hostBoundMs / 1000).toFixed(1)} s): ${f.makespanOverBound}x`,
              `  work by kind: ${Object.entries(f.workByKindMs)
                .map(([k, ms]) => `${k} ${(ms / 1000).toFixed(1)} s`)
                .join(', ')}`,
              `  overhead per task (${f.tasks} tasks): inside a task ${f.inTaskOverheadMeanMs} ms mean, ${f.inTaskOverheadMaxMs} ms max; wait for a slot after dependencies ${f.dispatchMedianMs} ms median; start-up to first task ${f.startupMs} ms`,
              '',
            ].join('\n'),
          );
        }
      for (const phase of ['cold', 'warm']) {
        const of = (key: 'ratio' | 'makespanOverBound' | 'inTaskOverheadMeanMs'): string => {
          const values = results.map((r) => r[phase]![key]).sort((a, b) => a - b);
          const middle =
            values.length % 2 === 1
              ? values[(values.length - 1) / 2]!
              : (values[values.length / 2 - 1]! + values[values.length / 2]!) / 2;
          return `${+middle.toFixed(3)} (${values[0]}-${values.at(-1)})`;
        };
        process.stdout.write(
          `${phase}, median of ${rounds} (range): ${of('ratio')}x faster than serial; makespan ${of('makespanOverBound')}x the bound; ${of('inTaskOverheadMeanMs')} ms overhead per task\n`,
        );
      }
    }
    if (process.argv.includes('--keep')) log(`logs and reports kept in ${work}`);
    else rmSync(work, { recursive: true, force: true });
  } finally {
    await registry.stop();
    // Everything this run made is named after its registry's port: remove it, then the layers it left.
    const port = registry.host.split(':')[1];
    const ours = (await run('podman', ['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout
      .split('\n')
      .filter((name) => name.startsWith(`${registry.host}/`) || name.includes(`/localhost-${port}/`));
    if (ours.length > 0) await run('podman', ['rmi', '--ignore', '--force', ...ours], { allowFailure: true });
    await run('podman', ['image', 'prune', '--force'], { allowFailure: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench/build: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
