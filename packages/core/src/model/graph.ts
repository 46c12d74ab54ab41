/** Cycles in a dependency graph, each once, as the path that closes it. */
export function findCycles(nodes: readonly string[], edges: (node: string) => readonly string[]): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'active' | 'done'>();
  const stack: string[] = [];

  const visit = (node: string): void => {
    state.set(node, 'active');
    stack.push(node);
    for (const next of edges(node)) {
      const seen = state.get(next);
      if (seen === 'active') {
        cycles.push([...stack.slice(stack.indexOf(next)), next]);
      } else if (seen === undefined) {
        visit(next);
      }
    }
    stack.pop();
    state.set(node, 'done');
  };

  for (const node of nodes) if (!state.has(node)) visit(node);
  return cycles;
}
