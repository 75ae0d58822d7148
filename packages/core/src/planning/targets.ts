/**
 * Which nodes a prompt has to consider: the output nodes (or the caller's partial targets) and their ancestors.
 */
import type { PromptGraph } from '../graph.ts';
import type { NodeRegistry } from '../registry.ts';

/**
 * The nodes to execute: the requested ids that exist in the graph, or else every node whose class is an output node.
 * Order follows the request (or the prompt), duplicates removed.
 */
export function resolveTargets(graph: PromptGraph, registry: NodeRegistry, requested?: readonly string[]): string[] {
  if (requested) return [...new Set(requested.map(String))].filter((id) => graph.nodes.has(id));
  const targets: string[] = [];
  for (const node of graph.nodes.values()) if (registry.get(node.classType)?.outputNode) targets.push(node.id);
  return targets;
}

/**
 * The targets and every node they reach through links, lazy links included (a lazy branch may be asked for).
 * Links to ids missing from the graph are skipped here; the node that holds such a link fails when it runs.
 */
export function collectAncestors(graph: PromptGraph, targets: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const stack = [...targets];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    const node = graph.nodes.get(id);
    if (!node) continue;
    seen.add(id);
    for (const input of node.inputs.values()) if (input.kind === 'link' && !seen.has(input.from)) stack.push(input.from);
  }
  return seen;
}
