import type { Plan } from '@multiarch/core';
import { tasksByImage } from './group.js';
import { printable } from './printable.js';

/** Mermaid flowchart of the task graph, one subgraph per image. */
export function renderPlanMermaid(plan: Plan): string {
  const node = nodeIds(plan);
  const lines = ['flowchart LR'];
  for (const [image, tasks] of tasksByImage(plan)) {
    if (image !== null) lines.push(`  subgraph ${node.image(image)}["${escapeMermaid(image)}"]`);
    for (const task of tasks)
      lines.push(
        `  ${image === null ? '' : '  '}${node.task(task.id)}["${escapeMermaid(task.id)}<br/>${escapeMermaid(task.host)}"]`,
      );
    if (image !== null) lines.push('  end');
  }
  for (const task of plan.tasks)
    for (const dependency of task.dependsOn) lines.push(`  ${node.task(dependency)} --> ${node.task(task.id)}`);
  return lines.join('\n') + '\n';
}

/** Graphviz dot of the task graph, one cluster per image. */
export function renderPlanDot(plan: Plan): string {
  const lines = ['digraph plan {', '  rankdir=LR;', '  node [shape=box, fontname="monospace"];'];
  let cluster = 0;
  for (const [image, tasks] of tasksByImage(plan)) {
    const indent = image === null ? '  ' : '    ';
    if (image !== null) lines.push(`  subgraph cluster_${cluster++} {`, `    label=${dotString(image)};`);
    for (const task of tasks) lines.push(`${indent}${dotString(task.id)} [label=${dotString(task.id, task.host)}];`);
    if (image !== null) lines.push('  }');
  }
  for (const task of plan.tasks)
    for (const dependency of task.dependsOn) lines.push(`  ${dotString(dependency)} -> ${dotString(task.id)};`);
  lines.push('}');
  return lines.join('\n') + '\n';
}

function nodeIds(plan: Plan) {
  const tasks = new Map(plan.tasks.map((task, i) => [task.id, `t${i}`]));
  const images = new Map(Object.keys(plan.images).map((name, i) => [name, `img${i}`]));
  return { task: (id: string) => tasks.get(id) ?? 'unknown', image: (name: string) => images.get(name) ?? 'unknown' };
}

/** A value inside a quoted mermaid label: a raw newline or quote would end it. */
function escapeMermaid(text: string): string {
  return printable(text).replaceAll('"', '#quot;').replaceAll('<', '#lt;').replaceAll('>', '#gt;');
}

/** A dot string of one or more lines (dot's own `\n` between them), each value's control characters written out. */
function dotString(...lines: string[]): string {
  return `"${lines.map((line) => printable(line).replaceAll('\\', '\\\\').replaceAll('"', '\\"')).join('\\n')}"`;
}
