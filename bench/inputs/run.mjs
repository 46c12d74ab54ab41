#!/usr/bin/env node
// Input-hash benchmark: hashing every image's build context (model/inputs.ts through
// exec/input-files.ts) on generated trees, cold (no stat cache) and warm (the cache of the run
// before), against a naive full re-read (the same walk, every file read and hashed, no cache)
// measured in the same rounds. See bench/README.md. In-process, on the built core.
//
//   node bench/inputs/run.mjs [--runs N] [--json]

import { mkdirSync, rmSync, utimesSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const WORK = path.join(ROOT, 'bench/inputs/.work');
const CORE = path.join(ROOT, 'packages/core/dist');
const SEED = 0x696e7075; // "inpu"

/** The trees: `big` is the brief's 20,000 files / 200 MB; `many` issue 13's 1000 images of ~50 files. */
const TREES = [
  { name: 'big', images: 20, files: 1000, meanBytes: 10_000, goal: undefined },
  { name: 'many', images: 1000, files: 50, meanBytes: 1_000, goal: { warmMs: 1500, coldMs: 5000 } },
];

function parseArgs(argv) {
  const options = { runs: 5, json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') options.json = true;
    else if (arg === '--runs' || arg.startsWith('--runs=')) {
      const value = arg === '--runs' ? argv[++i] : arg.slice('--runs='.length);
      const runs = Number(value);
      if (!Number.isInteger(runs) || runs < 1) fail(`--runs expects a whole number of at least 1, got ${value}`);
      options.runs = runs;
    } else if (arg === '--help' || arg === '-h') {
      process.stdout.write('usage: node bench/inputs/run.mjs [--runs N] [--json]\n');
      process.exit(0);
    } else fail(`unknown argument ${JSON.stringify(arg)} (usage: node bench/inputs/run.mjs [--runs N] [--json])`);
  }
  return options;
}

function fail(message) {
  process.stderr.write(`bench:inputs: ${message}\n`);
  rmSync(WORK, { recursive: true, force: true });
  process.exit(1);
}

const progress = (message) => process.stderr.write(`${message}\n`);

/** mulberry32: a tiny seeded PRNG, so every run generates the same trees. */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A spec and its contexts: per image a Containerfile, a .containerignore leaving out .log files
 * and `cache/`, and `files` files (sizes uniform in [0, 2 x mean)) in nested directories, plus
 * one ignored file per ten (not hashed: the walk leaves them out). Times are set an hour back
 * (a checkout is not seconds old); ctime cannot be, so main() waits out the stat cache's racy
 * margin (files changed in the 2 s before a run are not trusted) before measuring.
 */
function generate(tree) {
  const dir = path.join(WORK, tree.name);
  mkdirSync(dir, { recursive: true });
  const random = mulberry32(SEED ^ tree.images);
  const chunk = Buffer.alloc(2 * tree.meanBytes);
  for (let i = 0; i < chunk.length; i++) chunk[i] = Math.floor(random() * 256);
  const past = new Date(Date.now() - 3_600_000);
  const spec = ['version: 1', 'platforms: [linux/amd64, linux/arm64]', 'images:'];
  let bytes = 0;
  for (let image = 0; image < tree.images; image++) {
    const name = `img-${String(image).padStart(4, '0')}`;
    const context = path.join(dir, name);
    spec.push(`  ${name}:`, `    context: ${name}`);
    if (image > 0 && random() < 0.3)
      spec.push(`    dependsOn: [img-${String(Math.floor(random() * image)).padStart(4, '0')}]`);
    const files = {
      Containerfile: 'FROM localhost/bench/base:1\nCOPY . /srv\n',
      '.containerignore': '**/*.log\ncache/\n',
    };
    for (const [file, text] of Object.entries(files)) writeAt(context, file, text, past);
    for (let f = 0; f < tree.files; f++) {
      const size = Math.floor(random() * 2 * tree.meanBytes);
      const offset = Math.floor(random() * (chunk.length - size));
      // A distinct first line, so no two files are equal.
      const content = Buffer.concat([Buffer.from(`${name}/${f}\n`), chunk.subarray(offset, offset + size)]);
      writeAt(context, `${directoryOf(tree, f)}/f${f}.dat`, content, past);
      bytes += content.length;
      if (f % 10 === 0) writeAt(context, f % 20 === 0 ? `d0/f${f}.log` : `cache/f${f}.bin`, content, past);
    }
  }
  writeAt(dir, 'multiarch.yaml', spec.join('\n') + '\n', past);
  return { dir, bytes };
}

/** About 20 files a directory, two levels deep, as source trees go. */
function directoryOf(tree, f) {
  const directories = Math.max(1, Math.round(tree.files / 20));
  const d = f % directories;
  return `d${d % 8}/e${d}`;
}

function writeAt(dir, file, content, time) {
  const full = path.join(dir, file);
  mkdirSync(path.dirname(full), { recursive: true });
  writeFileSync(full, content);
  utimesSync(full, time, time);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
const round = (x, digits = 1) => Number(x.toFixed(digits));

function time(fn) {
  const start = performance.now();
  const value = fn();
  return { ms: performance.now() - start, value };
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (!existsSync(path.join(CORE, 'index.js'))) fail('build the core first: npm run build');
  const core = await import(path.join(CORE, 'index.js'));
  const { walkContext } = await import(path.join(CORE, 'model/context-files.js'));

  /** The floor: the walk alone, no file read or statted (what validate already pays). */
  const walkOnly = (specDir, model) => {
    for (const image of model.images)
      walkContext(path.resolve(specDir, image.context), path.posix.relative(image.context, image.containerfile));
  };

  /** The baseline: the same walk, every regular file read whole and hashed, nothing kept. */
  const naive = (specDir, model) => {
    let files = 0;
    for (const image of model.images) {
      const contextDir = path.resolve(specDir, image.context);
      const walk = walkContext(contextDir, path.posix.relative(image.context, image.containerfile));
      for (const entry of walk.entries) {
        const file = path.join(contextDir, entry);
        try {
          createHash('sha256').update(readFileSync(file)).digest('hex');
          files++;
        } catch {
          // A directory.
        }
      }
    }
    return files;
  };

  rmSync(WORK, { recursive: true, force: true });
  const results = [];
  for (const tree of TREES) {
    progress(`generating ${tree.name}: ${tree.images} images x ${tree.files} files ...`);
    const { dir, bytes } = generate(tree);
    await new Promise((resolve) => setTimeout(resolve, Number(core.RACY_MARGIN_NS / 1_000_000n) + 200));
    const analysis = await core.analyze({ cwd: dir, env: {}, localPlatform: 'linux/amd64', localJobs: 2 });
    if (!analysis.ok) fail(`${tree.name}: ${analysis.diagnostics.map((d) => d.message).join('; ')}`);
    const { specDir, model } = analysis.value;
    const cacheFile = path.join(dir, '.stat-cache.json');
    const hash = (cache) => core.computeInputHashes(specDir, model, [], {}, { cacheFile: cache });

    // Check once: cold and warm agree, the warm run reads nothing, every file was hashed.
    rmSync(cacheFile, { force: true });
    const cold = hash(cacheFile);
    const warm = hash(cacheFile);
    if (!cold.ok || !warm.ok) fail(`${tree.name}: ${cold.reason ?? warm.reason}`);
    if (JSON.stringify(cold.hashes) !== JSON.stringify(warm.hashes)) fail(`${tree.name}: warm hashes differ from cold`);
    if (warm.stats.misses !== 0 || warm.stats.bytesRead !== 0)
      fail(`${tree.name}: the warm run read files: ${JSON.stringify(warm.stats)}`);
    if (cold.stats.files !== tree.images * tree.files) fail(`${tree.name}: hashed ${cold.stats.files} files`);
    const cacheBytes = readFileSync(cacheFile).length;

    const samples = { walk: [], naive: [], cold: [], warm: [] };
    for (let round = 0; round < options.runs; round++) {
      progress(`${tree.name}: round ${round + 1}/${options.runs}`);
      samples.walk.push(time(() => walkOnly(specDir, model)).ms);
      samples.naive.push(time(() => naive(specDir, model)).ms);
      rmSync(cacheFile, { force: true });
      samples.cold.push(time(() => hash(cacheFile)).ms);
      samples.warm.push(time(() => hash(cacheFile)).ms);
    }
    const naiveMs = median(samples.naive);
    const row = (label, xs) => ({
      label,
      medianMs: round(median(xs)),
      minMs: round(Math.min(...xs)),
      ratioToNaive: round(median(xs) / naiveMs, 3),
    });
    results.push({
      tree: tree.name,
      images: tree.images,
      files: cold.stats.files,
      megabytes: round(bytes / 1e6),
      cacheKB: round(cacheBytes / 1e3),
      rows: [
        row('walk only', samples.walk),
        row('naive re-read', samples.naive),
        row('cold (no cache)', samples.cold),
        row('warm (cache)', samples.warm),
      ],
      goal: tree.goal && {
        ...tree.goal,
        pass: median(samples.warm) < tree.goal.warmMs && median(samples.cold) < tree.goal.coldMs,
      },
    });
  }
  rmSync(WORK, { recursive: true, force: true });

  const meta = { node: process.version, cpus: availableParallelism(), runs: options.runs };
  if (options.json) {
    process.stdout.write(JSON.stringify({ meta, results }, null, 2) + '\n');
    return;
  }
  const out = [
    `input hashes, in-process, median of ${meta.runs} (node ${meta.node}, ${meta.cpus} CPUs); page cache warm`,
  ];
  for (const r of results) {
    out.push(
      '',
      `${r.tree}: ${r.images} images, ${r.files} files hashed, ${r.megabytes} MB; stat cache ${r.cacheKB} KB`,
    );
    out.push('  run              median ms   min ms   x naive');
    for (const x of r.rows)
      out.push(
        `  ${x.label.padEnd(16)} ${x.medianMs.toFixed(1).padStart(9)} ${x.minMs.toFixed(1).padStart(8)} ${x.ratioToNaive.toFixed(3).padStart(9)}`,
      );
    if (r.goal)
      out.push(
        `  goal: warm under ${r.goal.warmMs} ms, cold under ${r.goal.coldMs} ms -> ${r.goal.pass ? 'PASS' : 'MISS'}`,
      );
  }
  process.stdout.write(out.join('\n') + '\n');
}

await main();
