/**
 * Test support: builds small UI workflows and subgraph definitions by hand, wiring inputs, outputs and link ids the
 * way ComfyUI saves them. Only tests import this file.
 */
import type { SubgraphDefinition, UiWorkflowV04, WorkflowLink, WorkflowNode } from './workflow.ts';

type SlotSpec = [name: string, type: string] | [name: string, type: string, widget: true];

export interface NodeOptions {
  mode?: number;
  title?: string;
  inputs?: SlotSpec[];
  outputs?: [name: string, type: string][];
  widgets?: unknown[] | Record<string, unknown>;
}

/** A graph (root or subgraph body). Node id -10 is the subgraph input node and -20 the output node. */
export class TestGraph {
  readonly nodes: WorkflowNode[] = [];
  readonly links: WorkflowLink[] = [];
  readonly subgraphInputs: { name: string; type: string; linkIds: number[] }[] = [];
  readonly subgraphOutputs: { name: string; type: string; linkIds: number[] }[] = [];

  constructor(readonly linkIds: { next: number } = { next: 1 }) {}

  node(id: number, type: string, options: NodeOptions = {}): WorkflowNode {
    const node: WorkflowNode = {
      id,
      type,
      pos: [0, 0],
      size: [200, 100],
      flags: {},
      order: this.nodes.length,
      mode: options.mode ?? 0,
      inputs: (options.inputs ?? []).map(([name, t, widget]) => (widget ? { name, type: t, widget: { name }, link: null } : { name, type: t, link: null })),
      outputs: (options.outputs ?? []).map(([name, t], i) => ({ name, type: t, links: [], slot_index: i })),
      properties: {},
      widgets_values: options.widgets ?? [],
    };
    if (options.title !== undefined) node.title = options.title;
    this.nodes.push(node);
    return node;
  }

  /** Wires output `slot` of `from` to the input named `input` of `to` (ids -10 / -20 for subgraph IO). */
  link(from: number, slot: number, to: number, input: string | number, type = '*'): number {
    const id = this.linkIds.next++;
    let targetSlot: number;
    if (to === -20) {
      targetSlot = input as number;
      this.subgraphOutputs[targetSlot]!.linkIds.push(id);
    } else {
      const target = this.nodes.find((n) => n.id === to)!;
      targetSlot = target.inputs!.findIndex((i) => i.name === input);
      if (targetSlot < 0) throw new Error(`node ${to} has no input ${String(input)}`);
      target.inputs![targetSlot]!.link = id;
    }
    if (from === -10) this.subgraphInputs[slot]!.linkIds.push(id);
    else this.nodes.find((n) => n.id === from)!.outputs![slot]!.links!.push(id);
    this.links.push({ id, origin_id: from, origin_slot: slot, target_id: to, target_slot: targetSlot, type });
    return id;
  }

  toSubgraph(id: string, name: string): SubgraphDefinition {
    return {
      id,
      version: 1,
      state: { lastNodeId: 0, lastLinkId: 0 },
      name,
      inputNode: { id: -10, bounding: [0, 0, 75, 100] },
      outputNode: { id: -20, bounding: [0, 0, 75, 100] },
      inputs: this.subgraphInputs.map((s, i) => ({ id: `in-${i}`, ...s })),
      outputs: this.subgraphOutputs.map((s, i) => ({ id: `out-${i}`, ...s })),
      widgets: [],
      nodes: this.nodes,
      links: this.links,
      groups: [],
    };
  }

  toWorkflow(subgraphs: SubgraphDefinition[] = []): UiWorkflowV04 {
    const workflow: UiWorkflowV04 = {
      last_node_id: Math.max(0, ...this.nodes.map((n) => Number(n.id))),
      last_link_id: this.linkIds.next - 1,
      nodes: this.nodes,
      links: this.links.map((l) => [l.id, l.origin_id, l.origin_slot, l.target_id, l.target_slot, l.type]),
      groups: [],
      config: {},
      extra: {},
      version: 0.4,
    };
    if (subgraphs.length) workflow.definitions = { subgraphs };
    return workflow;
  }
}

/** A subgraph body with declared inputs and outputs. */
export function subgraphBody(inputs: [string, string][], outputs: [string, string][], linkIds?: { next: number }): TestGraph {
  const graph = new TestGraph(linkIds);
  for (const [name, type] of inputs) graph.subgraphInputs.push({ name, type, linkIds: [] });
  for (const [name, type] of outputs) graph.subgraphOutputs.push({ name, type, linkIds: [] });
  return graph;
}
