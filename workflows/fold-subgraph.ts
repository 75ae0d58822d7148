/**
 * Folds nodes of a UI workflow into a subgraph the way ComfyUI's "Convert to Subgraph" does: one subgraph input per
 * outside source, one output per inside source, widgets promoted through subgraph inputs (`proxyWidgets ["-1", name]`)
 * or shown on the instance through a proxy to the inner node. Used by build-workflows.ts for the template workflow.
 */
import { createHash } from 'node:crypto';
import {
  widgetLayout,
  type ObjectInfoEntry,
  type SubgraphDefinition,
  type WorkflowInputSlot,
  type WorkflowNode,
} from '../packages/core/src/index.ts';

/** A stable UUID-shaped id from a name, so rebuilding gives identical files. */
export function stableUuid(name: string): string {
  const h = createHash('sha1').update(`uso-studio:${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export interface Promotion {
  node: number;
  widget: string;
}

/** Mutable graph in object-link form, while nodes get folded into subgraphs. */
export interface Graph {
  nodes: WorkflowNode[];
  links: Array<{ id: number; origin_id: number; origin_slot: number; target_id: number; target_slot: number; type: string }>;
}

/**
 * Folds `members` of `graph` into a new subgraph definition (added to `definitions`) and puts an instance node with
 * id `instanceId` in their place. `promote` lists inner widgets that become subgraph inputs shown on the instance;
 * `proxy` lists inner widgets the instance shows directly (ComfyUI's proxyWidgets to a node id).
 */
export function foldIntoSubgraph(
  graph: Graph,
  definitions: SubgraphDefinition[],
  options: { name: string; members: number[]; instanceId: number; promote?: Promotion[]; proxy?: Promotion[]; objectInfo: Record<string, ObjectInfoEntry>; nextLinkId: () => number },
): void {
  const members = new Set(options.members);
  const inner = graph.nodes.filter((n) => members.has(Number(n.id)));
  const xs = inner.map((n) => (n.pos as number[])[0]!);
  const ys = inner.map((n) => (n.pos as number[])[1]!);
  const right = Math.max(...inner.map((n) => (n.pos as number[])[0]! + (n.size as number[])[0]!));
  const defId = stableUuid(`subgraph:${options.name}`);
  const def: SubgraphDefinition = {
    id: defId,
    version: 1,
    state: { lastGroupId: 0, lastNodeId: Math.max(...options.members), lastLinkId: 0, lastRerouteId: 0 },
    revision: 0,
    config: {},
    name: options.name,
    inputNode: { id: -10, bounding: [Math.min(...xs) - 200, Math.min(...ys), 120, 140] },
    outputNode: { id: -20, bounding: [right + 80, Math.min(...ys), 120, 60] },
    inputs: [],
    outputs: [],
    widgets: [],
    nodes: inner,
    groups: [],
    links: [],
    extra: {},
  };
  const instance: WorkflowNode = {
    id: options.instanceId,
    type: defId,
    pos: [Math.min(...xs), Math.min(...ys)],
    size: [300, 0],
    flags: {},
    order: Math.min(...inner.map((n) => Number(n.order))),
    mode: 0,
    inputs: [],
    outputs: [],
    properties: { proxyWidgets: [] as string[][] },
    widgets_values: [],
  };
  const innerLinks: Graph['links'] = [];
  const outerLinks: Graph['links'] = [];
  const inputBySource = new Map<string, number>();
  const outputBySource = new Map<string, number>();
  for (const link of graph.links) {
    const fromInside = members.has(link.origin_id);
    const toInside = members.has(link.target_id);
    if (fromInside && toInside) innerLinks.push(link);
    else if (!fromInside && !toInside) outerLinks.push(link);
    else if (toInside) {
      // One subgraph input per outside source, named after the first input it feeds.
      const key = `${link.origin_id}:${link.origin_slot}`;
      let slot = inputBySource.get(key);
      if (slot === undefined) {
        slot = def.inputs.length;
        inputBySource.set(key, slot);
        const target = inner.find((n) => Number(n.id) === link.target_id)!;
        // Names are how instances find their inputs, so a second `image` becomes `image_1` as in ComfyUI.
        const base = target.inputs![link.target_slot]!.name;
        let name = base;
        for (let k = 1; def.inputs.some((io) => io.name === name); k++) name = `${base}_${k}`;
        // Image inputs show what they expect, as the template's `reference_image` does.
        const origin = graph.nodes.find((n) => Number(n.id) === link.origin_id);
        const label = link.type === 'IMAGE' && origin?.title ? { label: origin.title.toLowerCase().replaceAll(' ', '_') } : {};
        def.inputs.push({ id: stableUuid(`${defId}:in:${name}`), name, type: link.type, linkIds: [], localized_name: name, ...label });
        const outer = options.nextLinkId();
        instance.inputs!.push({ name, type: link.type, link: outer, localized_name: name, ...label });
        outerLinks.push({ ...link, id: outer, target_id: options.instanceId, target_slot: slot });
        replaceLinkId(graph.nodes, link.origin_id, link.id, outer);
      }
      def.inputs[slot]!.linkIds!.push(link.id);
      innerLinks.push({ ...link, origin_id: -10, origin_slot: slot });
    } else {
      const key = `${link.origin_id}:${link.origin_slot}`;
      let slot = outputBySource.get(key);
      if (slot === undefined) {
        slot = def.outputs.length;
        outputBySource.set(key, slot);
        const innerId = options.nextLinkId();
        def.outputs.push({ id: stableUuid(`${defId}:out:${slot}`), name: link.type, type: link.type, linkIds: [innerId], localized_name: link.type });
        instance.outputs!.push({ name: link.type, type: link.type, links: [], localized_name: link.type });
        innerLinks.push({ id: innerId, origin_id: link.origin_id, origin_slot: link.origin_slot, target_id: -20, target_slot: slot, type: link.type });
        const origin = inner.find((n) => Number(n.id) === link.origin_id)!;
        origin.outputs![link.origin_slot]!.links = [innerId];
      }
      instance.outputs![slot]!.links!.push(link.id);
      outerLinks.push({ ...link, origin_id: options.instanceId, origin_slot: slot });
    }
  }
  for (const { node: nodeId, widget } of options.promote ?? []) {
    const node = inner.find((n) => Number(n.id) === nodeId)!;
    const entry = options.objectInfo[node.type]!;
    const index = widgetLayout(entry).findIndex((s) => s.kind === 'input' && s.name === widget);
    const spec = entry.input.required?.[widget] ?? entry.input.optional?.[widget];
    const type = Array.isArray(spec?.[0]) ? 'COMBO' : String(spec?.[0]);
    const linkId = options.nextLinkId();
    const slot: WorkflowInputSlot = { localized_name: widget, name: widget, type, widget: { name: widget }, link: linkId };
    node.inputs!.push(slot);
    def.inputs.push({ id: stableUuid(`${defId}:in:${widget}`), name: widget, type, linkIds: [linkId] });
    innerLinks.push({ id: linkId, origin_id: -10, origin_slot: def.inputs.length - 1, target_id: nodeId, target_slot: node.inputs!.length - 1, type });
    (instance.widgets_values as unknown[]).push((node.widgets_values as unknown[])[index]);
    (instance.properties!.proxyWidgets as string[][]).push(['-1', widget]);
  }
  for (const { node, widget } of options.proxy ?? []) (instance.properties!.proxyWidgets as string[][]).push([String(node), widget]);
  def.links = innerLinks;
  def.state!.lastLinkId = Math.max(0, ...innerLinks.map((l) => l.id));
  const rows = Math.max(instance.inputs!.length, instance.outputs!.length);
  instance.size = [300, rows * 20 + 10 + (instance.widgets_values as unknown[]).length * 24 + ((options.proxy ?? []).length > 0 ? 48 : 0)];
  graph.nodes = [...graph.nodes.filter((n) => !members.has(Number(n.id))), instance];
  graph.links = outerLinks;
  definitions.push(def);
}

/** An output's link list names the link id a crossing link had; the outer link replaces it. */
function replaceLinkId(nodes: WorkflowNode[], originId: number, oldId: number, newId: number): void {
  const origin = nodes.find((n) => Number(n.id) === originId);
  for (const output of origin?.outputs ?? []) {
    const i = output.links?.indexOf(oldId) ?? -1;
    if (i >= 0) output.links![i] = newId;
  }
}
