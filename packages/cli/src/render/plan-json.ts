import type { Plan } from '@multiarch/core';

/**
 * The plan as JSON, one task per line: as fast to write as compact JSON (a monorepo's plan
 * has tens of thousands of tasks), still readable, and a changed task is a changed line in
 * a diff. Any JSON parser reads it; `jq .` pretty-prints it.
 */
export function renderPlanJson(plan: Plan): string {
  const { tasks, ...header } = plan;
  const head = JSON.stringify(header, null, 2).slice(0, -2);
  const body = tasks.map((task) => `    ${JSON.stringify(task)}`).join(',\n');
  return `${head},\n  "tasks": [\n${body}\n  ]\n}\n`;
}
