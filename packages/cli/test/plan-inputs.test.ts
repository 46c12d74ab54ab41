/** `orchestrate plan` shows each image's input hash per platform, and keeps its stat cache where XDG says. */
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { orchestrate, project } from './helpers.js';

const SPEC = `version: 1
platforms: [linux/amd64, linux/arm64]
registries:
  local:
    url: localhost:5000/team
images:
  base:
    context: base
  app:
    context: app
    dependsOn: [base]
`;
const MACHINE = ['--local-platform', 'linux/amd64', '--local-jobs', '2'];

type Inputs = Record<string, Record<string, string>>;

async function planInputs(cwd: string, extra: string[] = []): Promise<Inputs> {
  const run = await orchestrate(['plan', '--format', 'json', ...MACHINE, ...extra], {
    cwd,
    env: { XDG_CACHE_HOME: path.join(cwd, '.cache') },
  });
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  const plan = JSON.parse(run.stdout) as { images: Record<string, { inputs: Record<string, string> }> };
  return Object.fromEntries(Object.entries(plan.images).map(([name, image]) => [name, image.inputs]));
}

describe('plan: input hashes', () => {
  const files = {
    'multiarch.yaml': SPEC,
    'base/Containerfile': 'FROM localhost/seed:1\n',
    'base/base.conf': 'one\n',
    'app/Containerfile': 'FROM localhost:5000/team/base:latest\n',
    'app/main.sh': 'echo hi\n',
  };

  it('gives each image a hash per platform; a changed base changes its dependent; the text view shows 12 hex digits', async () => {
    const dir = project(files);
    const before = await planInputs(dir);
    expect(Object.keys(before['app'] ?? {})).toEqual(['linux/amd64', 'linux/arm64']);
    // The cache went under XDG_CACHE_HOME, and a second plan (from it) agrees.
    expect(readdirSync(path.join(dir, '.cache/orchestrate/inputs'))).toHaveLength(1);
    expect(await planInputs(dir)).toEqual(before);

    const text = await orchestrate(['plan', ...MACHINE], {
      cwd: dir,
      env: { XDG_CACHE_HOME: path.join(dir, '.cache') },
    });
    const app = before['app'] ?? {};
    expect(text.stdout).toContain(
      `  inputs  linux/amd64 ${app['linux/amd64']?.slice(0, 12)}, linux/arm64 ${app['linux/arm64']?.slice(0, 12)}\n`,
    );

    writeFileSync(path.join(dir, 'base/base.conf'), 'two\n');
    const after = await planInputs(dir);
    expect(after['base']).not.toEqual(before['base']);
    expect(after['app']?.['linux/amd64']).not.toBe(app['linux/amd64']);
  });

  it('with --platform, only the platforms planned; without XDG_CACHE_HOME, the cache goes under ~/.cache', async () => {
    const dir = project(files);
    const all = await planInputs(dir);
    const arm = await planInputs(dir, ['--platform', 'linux/arm64']);
    expect(arm['app']).toEqual({ 'linux/arm64': all['app']?.['linux/arm64'] });

    const home = path.join(dir, 'home');
    expect((await orchestrate(['plan', ...MACHINE], { cwd: dir, env: { HOME: home } })).code).toBe(0);
    expect(readdirSync(path.join(home, '.cache/orchestrate/inputs'))).toHaveLength(1);
  });
});
