/**
 * UI workflow -> API prompt, following ComfyUI's front end (`graphToPrompt` and its execution DTOs):
 *
 * 1. Subgraphs are flattened (`flattenWorkflow`), giving inner nodes `outer:inner` ids.
 * 2. Every node that is not virtual (Reroute, PrimitiveNode, Note, MarkdownNote, MarkdownNode), muted (mode 2) or
 *    bypassed (mode 4) becomes a prompt entry: its widget values map to inputs in widget order (`widgetLayout`), then
 *    each connected input is resolved and replaces the widget value:
 *    - through a bypassed node: the bypassed node's input at the same slot if its type fits, else its first input of
 *      exactly the consumer's type, else its first compatible input;
 *    - through Reroutes: their single input;
 *    - from a PrimitiveNode (directly or through Reroutes): its value, on widget inputs;
 *    - from a promoted subgraph widget: the instance's value.
 * 3. Links to nodes that are not in the prompt (muted ones) are removed.
 *
 * Arrays among widget values are sent as `{__value__: [...]}` so they are not read as links. STRING widgets that
 * declare `dynamicPrompts` are expanded (`processDynamicPrompt`), except values a subgraph instance promotes, which the
 * front end sends unprocessed.
 */
import type { ApiLink, ApiNode, ApiPrompt } from '../node-api.ts';
import type { ObjectInfoEntry } from '../registry.ts';
import { MissingNodeTypesError, WorkflowFormatError } from './errors.ts';
import { flattenWorkflow, type FlatGraph, type FlatInput, type FlatNode } from './subgraph.ts';
import { inputSpecs, isWidgetInput, defaultSlotValue, processDynamicPrompt, widgetLayout, socketType, type InputSpec } from './widgets.ts';
import { toWorkflow, type Workflow } from './workflow.ts';

/** Node types that exist only in the front end and are never sent to the server. */
export const VIRTUAL_NODE_TYPES: ReadonlySet<string> = new Set(['Reroute', 'PrimitiveNode', 'Note', 'MarkdownNote', 'MarkdownNode']);

const MUTED = 2;
const BYPASS = 4;

/**
 * Every node class a workflow uses, in the root graph and in every subgraph definition, sorted and unique.
 * Subgraph instances (whose type is a definition id) are not classes and are left out; front-end-only types
 * (Reroute, Note, ...) are included.
 */
export function collectNodeTypes(input: Workflow | unknown): string[] {
  const workflow = toWorkflow(input);
  const definitionIds = new Set((workflow.subgraphs ?? []).map((s) => s.id));
  const types = new Set<string>();
  const add = (nodes: readonly { type: string }[] | undefined) => {
    for (const node of nodes ?? []) if (!definitionIds.has(node.type)) types.add(node.type);
  };
  add(workflow.nodes);
  for (const def of workflow.subgraphs ?? []) add(def.nodes);
  return [...types].sort();
}

/**
 * The node classes a workflow uses that `objectInfo` lacks (front-end-only types never count), sorted and unique.
 * Like ComfyUI's missing-nodes check, muted and bypassed nodes count too.
 */
export function findMissingNodeTypes(input: Workflow | unknown, objectInfo: Record<string, ObjectInfoEntry>): string[] {
  return collectNodeTypes(input).filter((t) => !VIRTUAL_NODE_TYPES.has(t) && !Object.hasOwn(objectInfo, t));
}

type Resolved =
  | { kind: 'link'; nodeId: string; slot: number }
  | { kind: 'value'; value: unknown }
  | { kind: 'primitive'; value: unknown };

export interface UiToApiOptions {
  /** Picks `{a|b}` options in `dynamicPrompts` text widgets; Math.random by default, as in the front end. */
  random?: () => number;
}

/**
 * Converts a UI workflow (parsed, or raw JSON of either version) to the API prompt ComfyUI's front end would queue.
 * Throws `MissingNodeTypesError` listing every class `objectInfo` lacks, and `WorkflowFormatError` for broken files.
 * @example const { prompt } = uiToApi(JSON.parse(text), await (await fetch('/object_info')).json());
 */
export function uiToApi(
  input: Workflow | unknown,
  objectInfo: Record<string, ObjectInfoEntry>,
  options: UiToApiOptions = {},
): { prompt: ApiPrompt } {
  const random = options.random ?? Math.random;
  const workflow = toWorkflow(input);
  const missing = findMissingNodeTypes(workflow, objectInfo);
  if (missing.length > 0) throw new MissingNodeTypesError(missing);
  const flat = flattenWorkflow(workflow);
  const resolver = new LinkResolver(flat, objectInfo);

  const prompt: ApiPrompt = {};
  for (const node of flat.nodes) {
    if (VIRTUAL_NODE_TYPES.has(node.type) || node.mode === MUTED || node.mode === BYPASS || node.subgraph) continue;
    const entry = objectInfo[node.type];
    // Defensive: the missing-types check above already covered every class.
    if (!entry) throw new MissingNodeTypesError([node.type]);
    const inputs: Record<string, unknown> = {};
    const values = node.node.widgets_values;
    const layout = widgetLayout(entry);
    const widgetSpecs = new Map<string, InputSpec>();
    layout.forEach((slot, i) => {
      if (slot.kind !== 'input') return;
      widgetSpecs.set(slot.name, slot.spec);
      let value: unknown;
      if (Array.isArray(values)) value = i < values.length ? values[i] : defaultSlotValue(slot);
      else if (values && slot.name in values) value = values[slot.name];
      else value = defaultSlotValue(slot);
      setValue(inputs, slot.name, serializeWidget(slot.spec, value, random));
    });
    node.inputs.forEach((flatInput) => {
      const resolved = resolver.resolveInput(node, flatInput, undefined, new Set());
      if (!resolved) return;
      if (resolved.kind === 'link') inputs[flatInput.name] = [resolved.nodeId, resolved.slot] satisfies ApiLink;
      else if (resolved.kind === 'value') setValue(inputs, flatInput.name, resolved.value);
      // A PrimitiveNode writes into the widget the input backs (which then serialises as usual); sockets get nothing.
      else if (flatInput.widget !== undefined) {
        const spec = widgetSpecs.get(flatInput.widget);
        setValue(inputs, flatInput.widget, spec ? serializeWidget(spec, resolved.value, random) : resolved.value);
      }
    });
    const apiNode: ApiNode = { inputs, class_type: node.type, _meta: { title: node.title ?? (entry.display_name || node.type) } };
    prompt[node.id] = apiNode;
  }

  for (const apiNode of Object.values(prompt)) {
    for (const [name, value] of Object.entries(apiNode.inputs)) {
      if (Array.isArray(value) && value.length === 2 && !Object.hasOwn(prompt, String(value[0]))) delete apiNode.inputs[name];
    }
  }
  return { prompt };
}

/** A widget's value as the front end serialises it: dynamic prompts expanded, everything else as is. */
function serializeWidget(spec: InputSpec, value: unknown, random: () => number): unknown {
  return spec.options.dynamicPrompts === true && typeof value === 'string' ? processDynamicPrompt(value, random) : value;
}

/** An undefined value leaves the key out, as it would vanish from the JSON the front end posts. */
function setValue(inputs: Record<string, unknown>, name: string, value: unknown): void {
  if (value === undefined) delete inputs[name];
  else inputs[name] = wrapValue(value);
}

function wrapValue(value: unknown): unknown {
  return Array.isArray(value) ? { __value__: value } : value;
}

/** Litegraph's type compatibility: '*' and '' match anything; 'A,B' matches A or B; names compare case-insensitively. */
export function isValidConnection(a: string, b: string): boolean {
  if (a === '' || a === '*' || b === '' || b === '*' || a === b) return true;
  const left = a.toLowerCase().split(',');
  const right = b.toLowerCase().split(',');
  return left.some((x) => right.some((y) => x === y || x === '*' || y === '*'));
}

/** Walks links upstream from a consumer to the node output that really feeds it. */
class LinkResolver {
  readonly #fullInputs = new Map<string, FlatInput[]>();

  constructor(
    readonly flat: FlatGraph,
    readonly objectInfo: Record<string, ObjectInfoEntry>,
  ) {}

  resolveInput(node: FlatNode, input: FlatInput, type: string | undefined, visited: Set<string>): Resolved | undefined {
    const source = input.source;
    if (!source) return undefined;
    if (source.kind === 'value') return { kind: 'value', value: source.value };
    return this.resolveOutput(source.nodeId, source.slot, type ?? input.type, visited, node.id);
  }

  resolveOutput(nodeId: string, slot: number, type: string, visited: Set<string>, consumer: string): Resolved | undefined {
    const node = this.flat.byId.get(nodeId);
    if (!node) return undefined;
    const key = `${nodeId}[O]${slot}`;
    if (visited.has(key)) throw new WorkflowFormatError(`circular links through bypassed or reroute nodes at node ${nodeId} (reached from node ${consumer})`);
    visited.add(key);

    if (node.mode === BYPASS) {
      const inputs = this.fullInputs(node);
      const index = bypassSlot(inputs, node.outputs[slot]?.type ?? '*', slot, type);
      const through = index === undefined ? undefined : inputs[index];
      if (!through) return undefined;
      const resolved = this.resolveInput(node, through, undefined, visited);
      // A primitive's value reaches only the widgets it is wired to directly, never through a bypassed node.
      return resolved?.kind === 'primitive' ? undefined : resolved;
    }
    if (node.type === 'PrimitiveNode') {
      const values = node.node.widgets_values;
      return { kind: 'primitive', value: Array.isArray(values) ? values[0] : undefined };
    }
    if (VIRTUAL_NODE_TYPES.has(node.type)) {
      const through = node.inputs[slot];
      return through ? this.resolveInput(node, through, type, visited) : undefined;
    }
    return { kind: 'link', nodeId, slot };
  }

  /**
   * A node's inputs as the front end rebuilds them on load: sockets, then widget inputs, in definition order, with
   * the saved connections matched by name. Bypass picks an input by index, so the saved (compressed) list won't do.
   */
  fullInputs(node: FlatNode): FlatInput[] {
    const cached = this.#fullInputs.get(node.id);
    if (cached) return cached;
    const entry = this.objectInfo[node.type];
    let inputs = node.inputs;
    if (entry && !node.subgraph) {
      const specs = inputSpecs(entry);
      const byName = new Map(node.inputs.map((i) => [i.name, i]));
      const ordered = [...specs.filter((s) => !isWidgetInput(s)), ...specs.filter(isWidgetInput)].map(
        (spec): FlatInput => byName.get(spec.name) ?? { name: spec.name, type: socketType(spec.type) },
      );
      const known = new Set(specs.map((s) => s.name));
      inputs = [...ordered, ...node.inputs.filter((i) => !known.has(i.name))];
    }
    this.#fullInputs.set(node.id, inputs);
    return inputs;
  }
}

/** Which input a bypassed node passes to a consumer of output `slot`, as ComfyUI's front end chooses it. */
export function bypassSlot(inputs: readonly { type: string }[], outputType: string, slot: number, type: string): number | undefined {
  if (type === '*' || type === '') return inputs.length > slot ? slot : inputs.length > 0 ? 0 : undefined;
  const opposite = inputs[slot];
  if (opposite && isValidConnection(opposite.type, outputType) && isValidConnection(opposite.type, type)) return slot;
  const exact = inputs.findIndex((i) => i.type === type);
  if (exact !== -1) return exact;
  const compatible = inputs.findIndex((i) => isValidConnection(i.type, outputType) && isValidConnection(i.type, type));
  return compatible === -1 ? undefined : compatible;
}
