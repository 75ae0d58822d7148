/**
 * The engine's internal graph: an API prompt with links turned into typed objects. Validation and planning work on this,
 * never on raw two-element arrays.
 */
import { isApiLink, type ApiPrompt } from './node-api.ts';

export interface LinkInput {
  kind: 'link';
  /** Source node id. */
  from: string;
  /** Source output index. */
  slot: number;
}

export interface ConstantInput {
  kind: 'constant';
  value: unknown;
}

export type GraphInput = LinkInput | ConstantInput;

export interface GraphNode {
  id: string;
  classType: string;
  title?: string;
  inputs: Map<string, GraphInput>;
}

export interface PromptGraph {
  nodes: Map<string, GraphNode>;
}

/**
 * Builds the typed graph from a prompt that is already known to be an object of node objects.
 * Malformed entries are the validator's concern; this never throws for any object input.
 */
export function buildGraph(prompt: ApiPrompt): PromptGraph {
  const nodes = new Map<string, GraphNode>();
  for (const [id, raw] of Object.entries(prompt)) {
    const inputs = new Map<string, GraphInput>();
    const rawInputs = raw && typeof raw === 'object' && raw.inputs && typeof raw.inputs === 'object' ? raw.inputs : {};
    for (const [name, value] of Object.entries(rawInputs)) {
      inputs.set(name, isApiLink(value) ? { kind: 'link', from: String(value[0]), slot: value[1] } : { kind: 'constant', value });
    }
    const node: GraphNode = { id, classType: String(raw?.class_type), inputs };
    const title = raw?._meta?.title;
    if (typeof title === 'string') node.title = title;
    nodes.set(id, node);
  }
  return { nodes };
}
