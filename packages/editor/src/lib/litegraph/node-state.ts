/**
 * What the editor keeps on litegraph's node objects, under symbols so litegraph never serialises it: the node's plan
 * from /object_info, its execution display (running, progress, images, errors) and a primitive's current spec. Also
 * the walks over the graph every part needs.
 */
import { LiteGraph, type LGraph, type LGraphNode } from '@comfyorg/litegraph';
import type { NodePlan, WidgetSpec } from '../object-info.ts';

export interface NodeDecor {
  running: boolean;
  progress: number | null;
  errors: string[];
  images: HTMLImageElement[];
  preview: HTMLImageElement | null;
}

const DECOR = Symbol('decor');
const PLAN = Symbol('plan');
/** A connected primitive's value spec (narrowed as further targets join). */
const PRIMITIVE_SPEC = Symbol('primitive-spec');
type StatefulNode = LGraphNode & { [DECOR]?: NodeDecor; [PLAN]?: NodePlan; [PRIMITIVE_SPEC]?: WidgetSpec };

/** The node's execution display, created empty on first use. */
export function decorOf(node: LGraphNode): NodeDecor {
  return ((node as StatefulNode)[DECOR] ??= { running: false, progress: null, errors: [], images: [], preview: null });
}

/** The node's execution display, or undefined when it never had one (drawing skips those). */
export function existingDecor(node: LGraphNode): NodeDecor | undefined {
  return (node as StatefulNode)[DECOR];
}

/** The /object_info plan a node was built from (undefined for front-end nodes and subgraph instances). */
export function planOf(node: LGraphNode): NodePlan | undefined {
  return (node as StatefulNode)[PLAN];
}

export function setPlan(node: LGraphNode, plan: NodePlan): void {
  (node as StatefulNode)[PLAN] = plan;
}

export function primitiveSpecOf(node: LGraphNode): WidgetSpec | undefined {
  return (node as StatefulNode)[PRIMITIVE_SPEC];
}

export function setPrimitiveSpec(node: LGraphNode, spec: WidgetSpec | undefined): void {
  if (spec) (node as StatefulNode)[PRIMITIVE_SPEC] = spec;
  else delete (node as StatefulNode)[PRIMITIVE_SPEC];
}

/** Adds the "running" outline to a node's stroke styles. */
export function addRunningStroke(node: LGraphNode): void {
  if (node.strokeStyles['running']) return;
  node.strokeStyles['running'] = function (this: LGraphNode) {
    return existingDecor(this)?.running ? { color: '#0f0', lineWidth: 3, padding: 6 } : undefined;
  };
}

/** Every node of the root graph and of every subgraph definition. */
export function allNodes(graph: LGraph): LGraphNode[] {
  const nodes: LGraphNode[] = [...graph.nodes];
  for (const sub of graph.subgraphs.values()) nodes.push(...sub.nodes);
  return nodes;
}

/**
 * Maps an execution id to the node to mark. Prompts flatten subgraphs into ids such as `112:31`: on the root graph
 * the subgraph node `112` stands for all its insides; inside a subgraph (`shown`) the inner node `31` is shown.
 */
export function nodeForExecutionId(root: LGraph, shown: LGraph, executionId: string): LGraphNode | null {
  const parts = executionId.split(':');
  if (shown !== root) {
    const inner = shown.getNodeById(parts[parts.length - 1]!) ?? shown.getNodeById(Number(parts[parts.length - 1]));
    if (inner && parts.length > 1) return inner;
  }
  const first = parts[0]!;
  return root.getNodeById(first) ?? root.getNodeById(Number(first));
}

/** The y below a node's widgets and slots, where images are drawn. */
export function widgetsBottom(node: LGraphNode): number {
  let bottom = 0;
  for (const w of node.widgets ?? []) bottom = Math.max(bottom, (w.last_y ?? w.y ?? 0) + (w.computedHeight ?? LiteGraph.NODE_WIDGET_HEIGHT));
  const slots = Math.max(node.inputs.filter((i) => !i.widget).length, node.outputs.length);
  return Math.max(bottom, slots * LiteGraph.NODE_SLOT_HEIGHT) + 8;
}
