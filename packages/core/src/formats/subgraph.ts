/**
 * Subgraph flattening: every subgraph instance (a node whose `type` is the id of a subgraph definition) is replaced
 * by the nodes inside it, the way ComfyUI's front end builds its execution DTOs:
 *
 * - Inner nodes get execution ids `instance:inner` (nested: `a:b:c`); top-level nodes keep their own id.
 * - A link from the subgraph's input node (-10) continues from whatever feeds the instance's input of that name.
 *   When nothing feeds it and the input is promoted to a widget, the instance's widget value is used instead.
 * - A link from an instance's output continues from the inner link that reaches the subgraph's output node (-20).
 * - Promoted widgets: a subgraph input is promoted when one of its inner links ends at a widget input (or at a
 *   promoted input of a nested instance). The instance's `widgets_values` hold their values, in subgraph input order.
 * - A muted (2) or bypassed (4) instance is not expanded: it stays one node, so it is dropped or routed through as a
 *   whole, and nothing inside it runs.
 *
 * Bypass, reroutes and primitive nodes are resolved later, by `uiToApi`, on the flat graph.
 */
import { WorkflowFormatError } from './errors.ts';
import {
  SUBGRAPH_IO_NODE_IDS,
  toWorkflow,
  type NodeId,
  type SubgraphDefinition,
  type Workflow,
  type WorkflowLink,
  type WorkflowNode,
} from './workflow.ts';

/** An input fed by a node output, in execution ids. */
export interface FlatLinkSource {
  kind: 'link';
  nodeId: string;
  slot: number;
}

/** An input fed by a subgraph instance's promoted widget value. */
export interface FlatValueSource {
  kind: 'value';
  value: unknown;
}

export type FlatSource = FlatLinkSource | FlatValueSource;

export interface FlatInput {
  name: string;
  type: string;
  /** Name of the widget this input backs, for widget inputs. */
  widget?: string;
  /** Undefined when nothing feeds the input. */
  source?: FlatSource;
}

export interface FlatOutput {
  name: string;
  type: string;
}

/** A node of the flattened graph. */
export interface FlatNode {
  /** Execution id: `String(id)` at top level, `outer:inner` inside subgraphs. */
  id: string;
  /** Execution ids of the instances that contain this node, outermost first. */
  path: string[];
  type: string;
  mode: number;
  title?: string;
  /** The saved node this comes from (inside its definition for inner nodes). */
  node: WorkflowNode;
  inputs: FlatInput[];
  outputs: FlatOutput[];
  /** Set on a muted or bypassed subgraph instance kept whole; its inputs then follow the definition's inputs. */
  subgraph?: SubgraphDefinition;
}

export interface FlatGraph {
  /** Top-level nodes and expanded inner nodes, in document order (an instance's inner nodes replace it in place). */
  nodes: FlatNode[];
  byId: Map<string, FlatNode>;
}

interface GraphContext {
  nodes: Map<string, WorkflowNode>;
  links: Map<number, WorkflowLink>;
  /** Execution-id prefix of nodes in this graph. */
  path: string[];
  instance?: InstanceContext;
}

interface InstanceContext {
  node: WorkflowNode;
  def: SubgraphDefinition;
  parent: GraphContext;
  /** Promoted input name -> the instance's widget value. */
  promoted: Map<string, unknown>;
}

const MUTED = 2;
const BYPASS = 4;

function isInert(node: WorkflowNode): boolean {
  return node.mode === MUTED || node.mode === BYPASS;
}

/** Finds the input a link ends at: by link id first (robust to compressed slot lists), then by slot index. */
function targetInput(node: WorkflowNode, link: WorkflowLink) {
  return node.inputs?.find((i) => i.link === link.id) ?? node.inputs?.[link.target_slot];
}

/**
 * Expands every subgraph instance of a workflow into its inner nodes, with links routed through the subgraph
 * boundaries. Accepts a parsed `Workflow` or raw workflow JSON.
 * @example flattenWorkflow(workflow).byId.get('57:35')?.type // 'FluxGuidance'
 */
export function flattenWorkflow(input: Workflow | unknown): FlatGraph {
  const workflow = toWorkflow(input);
  const definitions = new Map<string, SubgraphDefinition>();
  for (const def of workflow.subgraphs ?? []) definitions.set(def.id, def);

  const promotedCache = new Map<string, string[]>();
  /** Names of a definition's inputs that the front end turns into widgets on its instances, in input order. */
  const promotedInputNames = (def: SubgraphDefinition, stack: string[]): string[] => {
    const cached = promotedCache.get(def.id);
    if (cached) return cached;
    if (stack.includes(def.id)) throw new WorkflowFormatError(`subgraph '${def.name}' (${def.id}) contains itself`, 'definitions.subgraphs');
    const nodes = new Map((def.nodes ?? []).map((n) => [String(n.id), n]));
    const links = new Map((def.links ?? []).map((l) => [l.id, l]));
    const names: string[] = [];
    for (const io of def.inputs ?? []) {
      const promoted = (io.linkIds ?? []).some((linkId) => {
        const link = links.get(linkId);
        const target = link && nodes.get(String(link.target_id));
        if (!link || !target) return false;
        const slot = targetInput(target, link);
        if (!slot) return false;
        if (slot.widget) return true;
        const nested = definitions.get(target.type);
        return nested ? promotedInputNames(nested, [...stack, def.id]).includes(slot.name) : false;
      });
      if (promoted) names.push(io.name);
    }
    promotedCache.set(def.id, names);
    return names;
  };

  const instanceContext = (node: WorkflowNode, def: SubgraphDefinition, parent: GraphContext): GraphContext => {
    const path = [...parent.path, String(node.id)];
    for (let c: GraphContext | undefined = parent; c?.instance; c = c.instance.parent) {
      if (c.instance.def.id === def.id) throw new WorkflowFormatError(`subgraph '${def.name}' (${def.id}) contains itself`, `node ${path.join(':')}`);
    }
    const promoted = new Map<string, unknown>();
    const values = node.widgets_values;
    promotedInputNames(def, []).forEach((name, i) => {
      if (Array.isArray(values) && i < values.length) promoted.set(name, values[i]);
      else if (values && !Array.isArray(values) && name in values) promoted.set(name, values[name]);
    });
    return {
      nodes: new Map((def.nodes ?? []).map((n) => [String(n.id), n])),
      links: new Map((def.links ?? []).map((l) => [l.id, l])),
      path,
      instance: { node, def, parent, promoted },
    };
  };

  const contexts = new Map<string, GraphContext>();
  const contextFor = (node: WorkflowNode, def: SubgraphDefinition, parent: GraphContext): GraphContext => {
    const key = [...parent.path, String(node.id)].join(':');
    let ctx = contexts.get(key);
    if (!ctx) {
      ctx = instanceContext(node, def, parent);
      contexts.set(key, ctx);
    }
    return ctx;
  };

  const resolveLink = (ctx: GraphContext, linkId: number, depth: number): FlatSource | undefined => {
    if (depth > 10_000) throw new WorkflowFormatError(`links loop through subgraph boundaries (link ${linkId})`);
    const link = ctx.links.get(linkId);
    // The front end drops dangling link ids on load; an input that names one is simply unconnected.
    if (!link) return undefined;
    if (String(link.origin_id) === String(SUBGRAPH_IO_NODE_IDS.input)) {
      const instance = ctx.instance;
      if (!instance) return undefined;
      const io = (instance.def.inputs ?? [])[link.origin_slot];
      if (!io) return undefined;
      const outer = instance.node.inputs?.find((i) => i.name === io.name);
      if (outer && outer.link !== null && outer.link !== undefined) return resolveLink(instance.parent, outer.link, depth + 1);
      if (instance.promoted.has(io.name)) return { kind: 'value', value: instance.promoted.get(io.name) };
      return undefined;
    }
    const origin = ctx.nodes.get(String(link.origin_id));
    if (!origin) return undefined;
    const def = definitions.get(origin.type);
    if (def && !isInert(origin)) {
      const inner = contextFor(origin, def, ctx);
      const innerLinkId = (def.outputs ?? [])[link.origin_slot]?.linkIds?.[0];
      return innerLinkId === undefined ? undefined : resolveLink(inner, innerLinkId, depth + 1);
    }
    return { kind: 'link', nodeId: [...ctx.path, String(origin.id)].join(':'), slot: link.origin_slot };
  };

  const nodes: FlatNode[] = [];
  const byId = new Map<string, FlatNode>();
  const visit = (ctx: GraphContext, graphNodes: readonly WorkflowNode[]) => {
    for (const node of graphNodes) {
      const def = definitions.get(node.type);
      if (def && !isInert(node)) {
        visit(contextFor(node, def, ctx), def.nodes ?? []);
        continue;
      }
      const id = [...ctx.path, String(node.id)].join(':');
      if (byId.has(id)) throw new WorkflowFormatError(`duplicate node id ${id}`);
      const flat: FlatNode = {
        id,
        path: [...ctx.path],
        type: node.type,
        mode: node.mode ?? 0,
        node,
        inputs: def ? keptInstanceInputs(ctx, node, def, promotedInputNames(def, []), resolveLink) : flatInputs(ctx, node, resolveLink),
        outputs: def
          ? (def.outputs ?? []).map((o) => ({ name: o.name, type: String(o.type) }))
          : (node.outputs ?? []).map((o) => ({ name: o.name, type: String(o.type) })),
      };
      if (node.title !== undefined) flat.title = node.title;
      if (def) flat.subgraph = def;
      nodes.push(flat);
      byId.set(id, flat);
    }
  };
  const root: GraphContext = {
    nodes: new Map(workflow.nodes.map((n) => [String(n.id), n])),
    links: new Map(workflow.links.map((l) => [l.id, l])),
    path: [],
  };
  visit(root, workflow.nodes);
  return { nodes, byId };
}

type LinkResolver = (ctx: GraphContext, linkId: number, depth: number) => FlatSource | undefined;

function flatInputs(ctx: GraphContext, node: WorkflowNode, resolveLink: LinkResolver): FlatInput[] {
  return (node.inputs ?? []).map((input) => {
    const flat: FlatInput = { name: input.name, type: String(input.type) };
    if (input.widget) flat.widget = input.widget.name;
    if (input.link !== null && input.link !== undefined) {
      const source = resolveLink(ctx, input.link, 0);
      if (source) flat.source = source;
    }
    return flat;
  });
}

/** A kept instance's inputs are the definition's inputs (the front end rebuilds them so on load), fed by name. */
function keptInstanceInputs(
  ctx: GraphContext,
  node: WorkflowNode,
  def: SubgraphDefinition,
  promoted: string[],
  resolveLink: LinkResolver,
): FlatInput[] {
  return (def.inputs ?? []).map((io) => {
    const flat: FlatInput = { name: io.name, type: String(io.type) };
    if (promoted.includes(io.name)) flat.widget = io.name;
    const saved = node.inputs?.find((i) => i.name === io.name);
    if (saved && saved.link !== null && saved.link !== undefined) {
      const source = resolveLink(ctx, saved.link, 0);
      if (source) flat.source = source;
    }
    return flat;
  });
}

/** The execution id ComfyUI gives a node inside (nested) subgraph instances. */
export function executionId(path: readonly NodeId[], id: NodeId): string {
  return [...path.map(String), String(id)].join(':');
}
