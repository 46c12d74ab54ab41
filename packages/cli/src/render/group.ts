import type { Plan, PlanTask } from '@multiarch/core';

/** Tasks by the image they belong to (null: registry logins and shared base-image pulls), in plan order. */
export function tasksByImage(plan: Plan): Map<string | null, PlanTask[]> {
  const groups = new Map<string | null, PlanTask[]>();
  for (const task of plan.tasks) {
    const group = groups.get(task.image);
    if (group) group.push(task);
    else groups.set(task.image, [task]);
  }
  return groups;
}
