import type { Io } from '../io.js';
import { renderPlanDot, renderPlanMermaid } from '../render/plan-graph.js';
import { renderPlanText } from '../render/plan-text.js';
import { renderPlanJson } from '../render/plan-json.js';
import { makePlan, type PlanFilterOptions } from './common.js';
import { EXIT } from '../io.js';
import { unreachable } from '@multiarch/core';

export const PLAN_FORMATS = ['text', 'json', 'mermaid', 'dot'] as const;
export type PlanFormat = (typeof PLAN_FORMATS)[number];

export interface PlanCommandOptions extends PlanFilterOptions {
  format: PlanFormat;
}

/** `orchestrate plan`: the dry run. `--format json` is exactly what `build` consumes. */
export async function planCommand(io: Io, options: PlanCommandOptions): Promise<number> {
  const made = await makePlan(io, options);
  if ('exitCode' in made) return made.exitCode;
  io.stdout(renderPlan(made.plan, options.format, io));
  return EXIT.ok;
}

function renderPlan(plan: Parameters<typeof renderPlanText>[0], format: PlanFormat, io: Io): string {
  switch (format) {
    case 'text':
      return renderPlanText(plan, io.colors.stdout);
    case 'json':
      return renderPlanJson(plan);
    case 'mermaid':
      return renderPlanMermaid(plan);
    case 'dot':
      return renderPlanDot(plan);
    default:
      return unreachable(format);
  }
}
