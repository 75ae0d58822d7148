/**
 * API prompt -> UI workflow (version 0.4), so a prompt made without the editor opens in it.
 *
 * Nodes are laid out left to right in columns by topological depth (a node sits one column right of its deepest
 * input), stacked top to bottom inside a column without overlap, with sizes estimated from sockets and widgets.
 * Inputs follow the front end's layout (sockets, then the widget inputs that are linked), links carry the source
 * output's type, and `widgets_values` hold the prompt's constants in widget order, with 'fixed' after every
 * control_after_generate widget so the prompt's seed is kept.
 *
 * `uiToApi(apiToUi(p), objectInfo)` gives back `p` for a prompt in the front end's own form: every widget input
 * present, `_meta.title` set, link sources as strings, no `{a|b}` or comments in `dynamicPrompts` text (which
 * `uiToApi` expands). Constant inputs a node class does not declare have no place in a UI workflow and are not kept.
 */
import { isApiLink, type ApiPrompt } from '../node-api.ts';
import type { ObjectInfoEntry } from '../registry.ts';
import { MissingNodeTypesError, WorkflowFormatError } from './errors.ts';
import { defaultSlotValue, inputSpecs, isWidgetInput, socketType, widgetLayout, type InputSpec } from './widgets.ts';
import type { NodeId, UiWorkflowV04, WorkflowInputSlot, WorkflowLinkArray, WorkflowNode, WorkflowOutputSlot } from './workflow.ts';

/** Layout constants, in canvas units (litegraph's title bar is 30 high and drawn above `pos`). */
const TITLE_HEIGHT = 30;
const SLOT_HEIGHT = 20;
const WIDGET_HEIGHT = 24;
const MULTILINE_HEIGHT = 100;
const COLUMN_GAP = 80;
const ROW_GAP = 40;
const MIN_WIDTH = 220;
const MAX_WIDTH = 480;
const CHAR_WIDTH = 7;

interface PendingNode {
  key: string;
  id: NodeId;
  classType: string;
  entry: ObjectInfoEntry;
  inputs: Record<string, unknown>;
  title: string | undefined;
}

/**
 * Builds a UI workflow (version 0.4 JSON) from an API prompt. Throws `MissingNodeTypesError` listing every class
 * `objectInfo` lacks, and `WorkflowFormatError` for a malformed prompt (naming the node and input).
 * @example const workflow = apiToUi(prompt, objectInfo); // then load it into the editor
 */
export function apiToUi(prompt: ApiPrompt | unknown, objectInfo: Record<string, ObjectInfoEntry>): UiWorkflowV04 {
  const pending = readPrompt(prompt, objectInfo);
  const byKey = new Map(pending.map((p) => [p.key, p]));

  // Links of the prompt, checked against the graph, in node order then input order.
  const upstream = new Map<string, string[]>();
  for (const node of pending) {
    const sources: string[] = [];
    for (const [name, value] of Object.entries(node.inputs)) {
      if (!isApiLink(value)) continue;
      const source = byKey.get(String(value[0]));
      if (!source) throw new WorkflowFormatError(`links to node ${String(value[0])}, which is not in the prompt`, `${node.key}.inputs.${name}`);
      if (value[1] < 0 || value[1] >= (source.entry.output ?? []).length) {
        throw new WorkflowFormatError(`links to output ${value[1]} of node ${source.key} (${source.classType}), which has ${(source.entry.output ?? []).length} outputs`, `${node.key}.inputs.${name}`);
      }
      sources.push(source.key);
    }
    upstream.set(node.key, sources);
  }
  const depth = depths(pending.map((p) => p.key), upstream);

  let nextLinkId = 1;
  const links: WorkflowLinkArray[] = [];
  const uiNodes = new Map<string, WorkflowNode>();
  for (const node of pending) {
    const outputs: WorkflowOutputSlot[] = (node.entry.output ?? []).map((type, i) => ({
      name: node.entry.output_name?.[i] ?? socketType(type),
      type: socketType(type),
      links: [],
      slot_index: i,
    }));
    uiNodes.set(node.key, {
      id: node.id,
      type: node.classType,
      pos: [0, 0],
      size: [0, 0],
      flags: {},
      order: 0,
      mode: 0,
      inputs: [],
      outputs,
      properties: { 'Node name for S&R': node.classType },
      widgets_values: [],
    });
  }

  for (const node of pending) {
    const ui = uiNodes.get(node.key)!;
    const specs = inputSpecs(node.entry);
    const inputs: WorkflowInputSlot[] = [];
    const connect = (name: string, type: string, link: unknown, widget: boolean) => {
      const slot: WorkflowInputSlot = { name, type, link: null };
      if (widget) slot.widget = { name };
      if (isApiLink(link)) {
        const source = byKey.get(String(link[0]))!;
        const sourceType = socketType(source.entry.output[link[1]]);
        const id = nextLinkId++;
        slot.link = id;
        links.push([id, uiNodes.get(source.key)!.id, link[1], ui.id, inputs.length, sourceType]);
        uiNodes.get(source.key)!.outputs![link[1]]!.links!.push(id);
        if (!widget && type === '*') slot.type = sourceType;
      }
      inputs.push(slot);
    };
    // The front end saves every socket input, and widget inputs only while something is connected to them.
    for (const spec of specs.filter((s) => !isWidgetInput(s))) connect(spec.name, socketType(spec.type), node.inputs[spec.name], false);
    for (const spec of specs.filter(isWidgetInput)) {
      if (isApiLink(node.inputs[spec.name])) connect(spec.name, spec.type, node.inputs[spec.name], true);
    }
    const declared = new Set(specs.map((s) => s.name));
    for (const [name, value] of Object.entries(node.inputs)) {
      if (!declared.has(name) && isApiLink(value)) connect(name, '*', value, false);
    }
    ui.inputs = inputs;
    ui.widgets_values = widgetLayout(node.entry).map((slot) => {
      if (slot.kind !== 'input') return defaultSlotValue(slot);
      const value = node.inputs[slot.name];
      if (value === undefined || isApiLink(value)) return defaultSlotValue(slot);
      return unwrapValue(value);
    });
    const displayName = node.entry.display_name || node.classType;
    if (node.title !== undefined && node.title !== displayName) ui.title = node.title;
  }

  layout(pending, uiNodes, upstream, depth);

  const numericIds = [...uiNodes.values()].map((n) => n.id).filter((id): id is number => typeof id === 'number');
  return {
    last_node_id: numericIds.length ? Math.max(...numericIds) : 0,
    last_link_id: nextLinkId - 1,
    nodes: pending.map((p) => uiNodes.get(p.key)!),
    links,
    groups: [],
    config: {},
    extra: { ds: { scale: 1, offset: [0, 0] } },
    version: 0.4,
  };
}

function readPrompt(prompt: unknown, objectInfo: Record<string, ObjectInfoEntry>): PendingNode[] {
  if (typeof prompt !== 'object' || prompt === null || Array.isArray(prompt)) throw new WorkflowFormatError('expected an API prompt object');
  const pending: PendingNode[] = [];
  const missing = new Set<string>();
  const usedIds = new Set<string>();
  for (const [key, raw] of Object.entries(prompt)) {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new WorkflowFormatError('expected {class_type, inputs}', key);
    const node = raw as Record<string, unknown>;
    if (typeof node.class_type !== 'string') throw new WorkflowFormatError('expected a string class_type', `${key}.class_type`);
    const inputs = node.inputs ?? {};
    if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs)) throw new WorkflowFormatError('expected an object', `${key}.inputs`);
    const entry = objectInfo[node.class_type];
    if (!entry) {
      missing.add(node.class_type);
      continue;
    }
    const meta = node._meta;
    const title = typeof meta === 'object' && meta !== null && typeof (meta as { title?: unknown }).title === 'string' ? (meta as { title: string }).title : undefined;
    // Numeric ids stay numbers, as litegraph saves them; other ids (e.g. flattened '57:12') are kept as strings.
    const id: NodeId = /^(0|[1-9]\d{0,14})$/.test(key) ? Number(key) : key;
    if (usedIds.has(String(id))) throw new WorkflowFormatError(`duplicate node id ${String(id)}`, key);
    usedIds.add(String(id));
    pending.push({ key, id, classType: node.class_type, entry, inputs: inputs as Record<string, unknown>, title });
  }
  if (missing.size > 0) throw new MissingNodeTypesError(missing);
  return pending;
}

function unwrapValue(value: unknown): unknown {
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && '__value__' in value && Array.isArray((value as { __value__: unknown }).__value__)) {
    return (value as { __value__: unknown[] }).__value__;
  }
  return value;
}

/** Longest path from a source for each node (Kahn's order, so long chains need no deep recursion); a cycle is a format error. */
function depths(keys: string[], upstream: Map<string, string[]>): Map<string, number> {
  const downstream = new Map<string, string[]>(keys.map((k) => [k, []]));
  const waiting = new Map<string, number>();
  for (const key of keys) {
    const sources = upstream.get(key) ?? [];
    waiting.set(key, sources.length);
    for (const source of sources) downstream.get(source)!.push(key);
  }
  const depth = new Map<string, number>();
  const ready = keys.filter((k) => waiting.get(k) === 0);
  for (const key of ready) depth.set(key, 0);
  for (let i = 0; i < ready.length; i++) {
    const key = ready[i]!;
    for (const next of downstream.get(key)!) {
      depth.set(next, Math.max(depth.get(next) ?? 0, depth.get(key)! + 1));
      const left = waiting.get(next)! - 1;
      waiting.set(next, left);
      if (left === 0) ready.push(next);
    }
  }
  if (ready.length < keys.length) {
    const stuck = keys.filter((k) => waiting.get(k)! > 0);
    throw new WorkflowFormatError(`dependency cycle between nodes ${stuck.slice(0, 20).join(', ')}${stuck.length > 20 ? ', ...' : ''}`);
  }
  return depth;
}

/** Width and body height (title bar excluded, as litegraph stores `size`) estimated from the node's contents. */
export function estimateNodeSize(node: WorkflowNode, entry: ObjectInfoEntry): [number, number] {
  const specs = inputSpecs(entry);
  const widgetSpecs = specs.filter(isWidgetInput);
  const sockets = (node.inputs ?? []).filter((i) => !i.widget).length;
  const rows = Math.max(sockets, node.outputs?.length ?? 0);
  let height = rows * SLOT_HEIGHT + 10;
  for (const slot of widgetLayout(entry)) {
    if (slot.kind === 'filter') continue;
    height += slot.kind === 'input' && isMultiline(slot.spec) ? MULTILINE_HEIGHT : WIDGET_HEIGHT;
  }
  const title = node.title ?? (entry.display_name || entry.name);
  const longestSlots =
    Math.max(0, ...(node.inputs ?? []).map((i) => i.name.length)) + Math.max(0, ...(node.outputs ?? []).map((o) => o.name.length));
  const longestWidget = Math.max(0, ...widgetSpecs.map((s) => s.name.length + widgetTextLength(s)));
  const width = Math.max(MIN_WIDTH, title.length * CHAR_WIDTH + 60, longestSlots * CHAR_WIDTH + 60, longestWidget * CHAR_WIDTH + 60);
  return [Math.min(MAX_WIDTH, width), height];
}

function isMultiline(spec: InputSpec): boolean {
  return spec.type === 'STRING' && spec.options.multiline === true;
}

function widgetTextLength(spec: InputSpec): number {
  if (spec.type !== 'COMBO') return 8;
  return Math.min(40, Math.max(0, ...(spec.choices ?? []).map((c) => String(c).length)));
}

/** Columns by depth, left to right; inside a column, nodes are ordered by where their inputs sit, then stacked. */
function layout(pending: PendingNode[], uiNodes: Map<string, WorkflowNode>, upstream: Map<string, string[]>, depth: Map<string, number>): void {
  const columns: string[][] = [];
  for (const node of pending) (columns[depth.get(node.key)!] ??= []).push(node.key);
  const rowCentre = new Map<string, number>();
  const entries = new Map(pending.map((p) => [p.key, p.entry]));
  let x = 0;
  let order = 0;
  for (const column of columns) {
    if (!column) continue;
    const sortKey = (key: string) => {
      const sources = upstream.get(key) ?? [];
      return sources.length ? sources.reduce((sum, s) => sum + rowCentre.get(s)!, 0) / sources.length : Number.NEGATIVE_INFINITY;
    };
    const sorted = [...column].sort((a, b) => sortKey(a) - sortKey(b) || compareIds(a, b));
    let y = 0;
    let width = 0;
    for (const key of sorted) {
      const node = uiNodes.get(key)!;
      const size = estimateNodeSize(node, entries.get(key)!);
      node.pos = [x, y + TITLE_HEIGHT];
      node.size = size;
      node.order = order++;
      rowCentre.set(key, y + (size[1] + TITLE_HEIGHT) / 2);
      y += TITLE_HEIGHT + size[1] + ROW_GAP;
      width = Math.max(width, size[0]);
    }
    x += width + COLUMN_GAP;
  }
}

function compareIds(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isFinite(na) && Number.isFinite(nb)) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}
