import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PLAN_FORMAT_VERSION } from '@multiarch/core';
import { orchestrate, REPO } from './helpers.js';

/**
 * Every example's plan, as `plan --format json` prints it for a fixed machine, against the
 * file checked in beside this test. UPDATE_GOLDEN=1 rewrites them; review the diff.
 */
const EXAMPLES = readdirSync(path.join(REPO, 'examples')).filter((name) =>
  existsSync(path.join(REPO, 'examples', name, 'multiarch.yaml')),
);
const MACHINE = ['--local-platform', 'linux/amd64', '--local-jobs', '2'];

/**
 * Input hashes depend on the checkout's file modes (the umask git checked out with: 0644 or
 * 0664), so the golden files hold a placeholder; core's test/inputs.test.ts pins the encoding.
 */
function withoutInputHashes(json: string): string {
  return json.replace(
    /("inputs": \{)([^}]*)(\})/g,
    (_all, open: string, body: string, close: string) =>
      open + body.replace(/"[0-9a-f]{64}"/g, '"<input hash>"') + close,
  );
}

describe.each(EXAMPLES)('examples/%s', (name) => {
  const cwd = path.join(REPO, 'examples', name);

  it('plans exactly as the golden file says', async () => {
    const run = await orchestrate(['plan', '--format', 'json', ...MACHINE], { cwd });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const golden = new URL(`./golden/${name}.plan.json`, import.meta.url);
    const stdout = withoutInputHashes(run.stdout);
    if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(golden, stdout);
    expect(JSON.parse(stdout)).toEqual(JSON.parse(readFileSync(golden, 'utf8')));
    // Every image planned has a hash for each of its platforms.
    const plan = JSON.parse(run.stdout) as { images: Record<string, { platforms: string[]; inputs: object }> };
    for (const image of Object.values(plan.images)) {
      expect(Object.keys(image.inputs)).toEqual(image.platforms);
      expect(Object.values(image.inputs).every((hash) => /^[0-9a-f]{64}$/.test(String(hash)))).toBe(true);
    }
  });

  it('validates, and renders as text, mermaid and dot', async () => {
    expect((await orchestrate(['validate', ...MACHINE], { cwd })).code).toBe(0);
    const text = await orchestrate(['plan', ...MACHINE], { cwd });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^Plan for multiarch\\.yaml \\(format ${PLAN_FORMAT_VERSION}\\)`));
    const mermaid = await orchestrate(['plan', '--format', 'mermaid', ...MACHINE], { cwd });
    expect(mermaid.stdout.startsWith('flowchart LR\n')).toBe(true);
    const dot = await orchestrate(['plan', '--format', 'dot', ...MACHINE], { cwd });
    expect(dot.stdout).toMatch(/^digraph plan \{[\s\S]*\}\n$/);
  });
});

it('has the four examples the docs promise', () => {
  expect(EXAMPLES).toEqual(expect.arrayContaining(['hello', 'per-arch', 'monorepo', 'dockerhub']));
});
