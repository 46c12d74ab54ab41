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

/** `names` and everything they reach through `edges`, each once; names `edges` does not know are kept as they are. */
export function reachableFrom(names: Iterable<string>, edges: (node: string) => readonly string[]): Set<string> {
  const reached = new Set<string>();
  const add = (name: string): void => {
    if (reached.has(name)) return;
    reached.add(name);
    for (const next of edges(name)) add(next);
  };
  for (const name of names) add(name);
  return reached;
}
