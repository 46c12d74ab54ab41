/**
 * A plan saved by `plan --format json` and run later by `build --plan FILE`, perhaps on
 * another machine (a CI job). Its contract: a plan of a format this version does not know
 * is refused, not misread; and a plan whose spec or Containerfiles changed since it was
 * made is refused, since it no longer says what those files would build. I/O at the edge:
 * the planner stays pure, these read files.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Diagnostic, Result } from './diagnostics.js';
import { KINDS } from './exec/kinds.js';
import type { Model } from './model/types.js';
import { PLAN_FORMAT_VERSION, type Plan } from './plan/types.js';

function sha256(content: Buffer | string): string {
  return `sha256:${createHash('sha256').update(content).digest('hex')}`;
}

/** What a plan was made from: the spec and every Containerfile it names, relative to the spec's directory, with their hashes. */
export function planInputs(specDir: string, specFile: string, model: Model): Record<string, string> {
  const files = [path.basename(specFile), ...new Set(model.images.map((image) => image.containerfile))];
  const inputs: Record<string, string> = {};
  // Read at once, not awaited one by one: a monorepo's 1000 Containerfiles cost ~20 ms so, ~400 ms of waits otherwise.
  for (const file of files.sort()) inputs[file] = hashOf(path.resolve(specDir, file));
  return inputs;
}

function hashOf(file: string): string {
  try {
    return sha256(readFileSync(file));
  } catch {
    return 'missing';
  }
}

/**
 * Reads a saved plan and checks it is one to run: JSON, of this format version, with
 * every input file as it was. `cwd` is where orchestrate runs: the plan's `cwd` is relative to it.
 */
export async function readPlanFile(file: string, cwd: string): Promise<Result<Plan>> {
  const fail = (message: string, hint: string): Result<Plan> => ({
    ok: false,
    diagnostics: [{ severity: 'error', code: 'invalid-plan', file, message, hint }],
  });
  let text: string;
  try {
    text = await readFile(path.resolve(cwd, file), 'utf8');
  } catch (error) {
    return {
      ok: false,
      diagnostics: [
        {
          severity: 'error',
          code: 'file-unreadable',
          file,
          message: `cannot read the plan: ${(error as Error).message}`,
          hint: 'save one with `orchestrate plan --format json > FILE`',
        },
      ],
    };
  }
  let plan: Partial<Omit<Plan, 'formatVersion'>> & { formatVersion?: unknown };
  try {
    plan = JSON.parse(text) as typeof plan;
  } catch (error) {
    return fail(`not a plan: ${(error as Error).message}`, 'save one with `orchestrate plan --format json > FILE`');
  }
  if (typeof (plan as unknown) !== 'object' || (plan as unknown) === null || !('formatVersion' in plan))
    return fail('not a plan: it has no formatVersion', 'save one with `orchestrate plan --format json > FILE`');
  if (plan.formatVersion !== PLAN_FORMAT_VERSION) {
    return fail(
      `the plan is of format ${JSON.stringify(plan.formatVersion)}; this orchestrate runs plans of format ${PLAN_FORMAT_VERSION}`,
      'make the plan again with this version of orchestrate',
    );
  }
  const shaped = (value: unknown): boolean => typeof value === 'object' && value !== null;
  if (
    !Array.isArray(plan.tasks) ||
    typeof plan.cwd !== 'string' ||
    typeof plan.spec !== 'string' ||
    ![plan.images, plan.hosts, plan.registries, plan.filters].every(shaped)
  ) {
    return fail(
      'the plan lacks tasks, images, hosts, registries, filters, spec or cwd',
      'it was edited or cut short: make it again with `orchestrate plan --format json`',
    );
  }
  const odd = (plan.tasks as unknown[]).find(
    (task) =>
      !shaped(task) ||
      !Object.hasOwn(KINDS, (task as { kind?: string }).kind ?? '') ||
      !Array.isArray((task as { argv?: unknown }).argv),
  );
  if (odd !== undefined)
    return fail(
      `the plan has a task this orchestrate cannot run: ${JSON.stringify(odd).slice(0, 120)}`,
      'make the plan again with this version of orchestrate',
    );
  const specDir = path.resolve(cwd, plan.cwd);
  const changed: string[] = [];
  for (const [input, hash] of Object.entries(plan.inputs ?? {}))
    if (hashOf(path.resolve(specDir, input)) !== hash) changed.push(input);
  if (plan.inputs === undefined)
    return fail(
      'the plan does not say which files it was made from',
      'make it again with `orchestrate plan --format json`',
    );
  if (changed.length > 0) {
    const diagnostics: Diagnostic[] = [
      {
        severity: 'error',
        code: 'plan-out-of-date',
        file,
        message: `${changed.join(', ')} changed since the plan was made (in ${path.join(plan.cwd, '.')})`,
        hint: 'make the plan again (`orchestrate plan --format json`), or run `orchestrate build` without --plan',
      },
    ];
    return { ok: false, diagnostics };
  }
  return { ok: true, value: plan as Plan, diagnostics: [] };
}
