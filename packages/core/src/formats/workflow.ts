/**
 * ComfyUI's UI workflow files (what the editor saves): version 0.4 (litegraph's `graph.serialize()`, links as arrays)
 * and version 1 (`asSerialisable()`, links as objects, `state`). Both are read into one internal shape, `Workflow`,
 * which keeps every field the file had so that writing it back as 0.4 loses nothing ComfyUI saves.
 *
 * Pure data code: no I/O, no `node:` imports (the browser editor uses it too).
 */
import { WorkflowFormatError } from './errors.ts';

/** Litegraph node ids are numbers in ComfyUI's files; strings are allowed by the schema. */
export type NodeId = number | string;

/** A node's input slot as saved. `widget` marks an input that backs a widget (a primitive input with a socket). */
export interface WorkflowInputSlot {
  name: string;
  type: string | number;
  link: number | null;
  widget?: { name: string };
  label?: string;
  localized_name?: string;
  shape?: number;
  [key: string]: unknown;
}

export interface WorkflowOutputSlot {
  name: string;
  type: string | number;
  links?: number[] | null;
  slot_index?: number;
  [key: string]: unknown;
}

/** A saved node (litegraph's ISerialisedNode). Fields this module does not model are kept as they are. */
export interface WorkflowNode {
  id: NodeId;
  type: string;
  pos?: unknown;
  size?: unknown;
  flags?: Record<string, unknown>;
  order?: number;
  /** 0 always, 2 never (muted), 4 bypass. */
  mode?: number;
  title?: string;
  inputs?: WorkflowInputSlot[];
  outputs?: WorkflowOutputSlot[];
  properties?: Record<string, unknown>;
  /** Values of the node's widgets in widget order. A few custom nodes store an object keyed by widget name instead. */
  widgets_values?: unknown[] | Record<string, unknown>;
  [key: string]: unknown;
}

/** A link as an object (version 1 files, subgraph definitions, and the internal shape). */
export interface WorkflowLink {
  id: number;
  origin_id: NodeId;
  origin_slot: number;
  target_id: NodeId;
  target_slot: number;
  type: string | number;
  /** Last native reroute the link passes through. */
  parentId?: number;
  [key: string]: unknown;
}

/** A link in a version 0.4 file: `[id, origin_id, origin_slot, target_id, target_slot, type]`. */
export type WorkflowLinkArray = [number, NodeId, number, NodeId, number, string | number];

export interface WorkflowGroup {
  id?: number;
  title: string;
  bounding: number[];
  [key: string]: unknown;
}

export interface WorkflowState {
  lastNodeId: NodeId;
  lastLinkId: number;
  lastGroupId?: number;
  lastRerouteId?: number;
  [key: string]: unknown;
}

/** One input or output slot of a subgraph definition. */
export interface SubgraphIO {
  id?: string;
  name: string;
  type: string;
  linkIds?: number[];
  label?: string;
  [key: string]: unknown;
}

/** The `inputNode` / `outputNode` of a subgraph: ids -10 and -20 in ComfyUI's files. */
export interface SubgraphIONode {
  id: NodeId;
  bounding?: number[];
  [key: string]: unknown;
}

/** A subgraph definition (`definitions.subgraphs[i]`). Instances are nodes whose `type` is the definition's `id`. */
export interface SubgraphDefinition {
  id: string;
  name: string;
  version?: number;
  state?: WorkflowState;
  inputNode?: SubgraphIONode;
  outputNode?: SubgraphIONode;
  inputs: SubgraphIO[];
  outputs: SubgraphIO[];
  widgets?: unknown[];
  nodes: WorkflowNode[];
  links: WorkflowLink[];
  groups?: WorkflowGroup[];
  [key: string]: unknown;
}

/** A version 0.4 UI workflow file, as ComfyUI's front end saves it. */
export interface UiWorkflowV04 {
  id?: string;
  revision?: number;
  last_node_id: NodeId;
  last_link_id: number;
  nodes: WorkflowNode[];
  links: WorkflowLinkArray[];
  floatingLinks?: WorkflowLink[];
  groups?: WorkflowGroup[];
  definitions?: { subgraphs?: SubgraphDefinition[]; [key: string]: unknown };
  config?: Record<string, unknown>;
  extra?: Record<string, unknown>;
  version: 0.4;
  [key: string]: unknown;
}

/** A version 1 UI workflow file (litegraph's `asSerialisable()`). */
export interface UiWorkflowV1 {
  id?: string;
  revision?: number;
  version: 1;
  state: WorkflowState;
  nodes?: WorkflowNode[];
  links?: WorkflowLink[];
  floatingLinks?: WorkflowLink[];
  reroutes?: unknown[];
  groups?: WorkflowGroup[];
  definitions?: { subgraphs?: SubgraphDefinition[]; [key: string]: unknown };
  config?: Record<string, unknown>;
  extra?: Record<string, unknown>;
  [key: string]: unknown;
}

/**
 * The internal shape both versions are read into. Links are objects; optional file fields stay optional so that
 * a round trip writes back exactly what was read.
 */
export interface Workflow {
  /** The version of the file this came from. */
  sourceVersion: 0.4 | 1;
  id?: string;
  revision?: number;
  state: WorkflowState;
  nodes: WorkflowNode[];
  links: WorkflowLink[];
  floatingLinks?: WorkflowLink[];
  /** Native (link midpoint) reroutes of a version 1 file. In 0.4 files they live in `extra.reroutes` and stay there. */
  reroutes?: unknown[];
  groups?: WorkflowGroup[];
  /** `definitions.subgraphs`; undefined when the file had none. */
  subgraphs?: SubgraphDefinition[];
  /** Keys of `definitions` other than `subgraphs`. */
  definitionsExtra?: Record<string, unknown>;
  config?: Record<string, unknown>;
  extra?: Record<string, unknown>;
  /** Top-level keys this module does not interpret, kept for round trips. */
  unknownFields: Record<string, unknown>;
  /** Top-level key order of the 0.4 file this came from, so writing it back keeps the text identical. */
  fieldOrder?: string[];
}

/** What kind of ComfyUI document a JSON value is. */
export type WorkflowKind = 'ui' | 'api' | 'unknown';

const SUBGRAPH_INPUT_NODE_ID = -10;
const SUBGRAPH_OUTPUT_NODE_ID = -20;
/** Ids of the pseudo nodes that stand for a subgraph's inputs and outputs inside its definition. */
export const SUBGRAPH_IO_NODE_IDS = { input: SUBGRAPH_INPUT_NODE_ID, output: SUBGRAPH_OUTPUT_NODE_ID } as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Tells a UI workflow (nodes + links, either version) from an API prompt (`{id: {class_type, inputs}}`).
 * @example detectWorkflowKind({ '3': { class_type: 'KSampler', inputs: {} } }) // 'api'
 */
export function detectWorkflowKind(json: unknown): WorkflowKind {
  if (!isRecord(json)) return 'unknown';
  if (Array.isArray(json.nodes) && ('links' in json || 'last_node_id' in json || 'state' in json || 'version' in json)) return 'ui';
  const entries = Object.values(json);
  if (entries.length > 0 && entries.every((n) => isRecord(n) && typeof n.class_type === 'string' && isRecord(n.inputs))) return 'api';
  return 'unknown';
}

const TOP_LEVEL_V04 = new Set([
  'id', 'revision', 'last_node_id', 'last_link_id', 'nodes', 'links', 'floatingLinks', 'groups', 'definitions', 'config', 'extra', 'version',
]);
const TOP_LEVEL_V1 = new Set([
  'id', 'revision', 'version', 'state', 'nodes', 'links', 'floatingLinks', 'reroutes', 'groups', 'definitions', 'config', 'extra',
]);

/**
 * Reads a UI workflow (version 0.4 or 1) into the internal shape. The input is not modified.
 * Throws only `WorkflowFormatError`, with the path of the first problem found.
 * @example const workflow = parseWorkflow(JSON.parse(text));
 */
export function parseWorkflow(json: unknown): Workflow {
  return read(json, true);
}

function read(json: unknown, copy: boolean): Workflow {
  try {
    return parse(json, copy);
  } catch (error) {
    if (error instanceof WorkflowFormatError) throw error;
    // Hostile values (throwing getters, proxies) must still fail with the one documented error.
    throw new WorkflowFormatError(`unreadable workflow (${error instanceof Error ? error.message : String(error)})`);
  }
}

function parse(json: unknown, copy: boolean): Workflow {
  if (!isRecord(json)) throw new WorkflowFormatError(`expected a workflow object, got ${describe(json)}`);
  // JSON values are clonable; the copy keeps callers' objects out of reach of later edits.
  const data = copy ? cloneJson(json, '') : json;
  if (detectWorkflowKind(data) === 'api') {
    throw new WorkflowFormatError('this is an API prompt ({id: {class_type, inputs}}), not a UI workflow; convert it with apiToUi');
  }
  if (!Array.isArray(data.nodes)) throw new WorkflowFormatError(`expected an array of nodes, got ${describe(data.nodes)}`, 'nodes');
  const version = data.version;
  const isV1 =
    version === 1 ||
    (version === undefined && (isRecord(data.state) || (Array.isArray(data.links) && data.links.some(isRecord))));
  if (!isV1 && version !== undefined && version !== 0.4) {
    throw new WorkflowFormatError(`unsupported workflow version ${JSON.stringify(version)} (expected 0.4 or 1)`, 'version');
  }
  return isV1 ? readV1(data) : readV04(data);
}

function readV04(json: Record<string, unknown>): Workflow {
  const links: WorkflowLink[] = [];
  if (json.links !== undefined) {
    if (!Array.isArray(json.links)) throw new WorkflowFormatError(`expected an array, got ${describe(json.links)}`, 'links');
    json.links.forEach((raw, i) => {
      // Old litegraph versions left holes (null) in the links array; they carry nothing.
      if (raw === null) return;
      links.push(linkFromArray(raw, `links[${i}]`));
    });
  }
  const workflow: Workflow = {
    sourceVersion: 0.4,
    state: {
      lastNodeId: readNodeId(json.last_node_id ?? 0, 'last_node_id'),
      lastLinkId: readNumber(json.last_link_id ?? 0, 'last_link_id'),
    },
    nodes: readNodes(json.nodes, 'nodes'),
    links,
    unknownFields: {},
  };
  readCommon(json, workflow);
  for (const [key, value] of Object.entries(json)) if (!TOP_LEVEL_V04.has(key)) workflow.unknownFields[key] = value;
  workflow.fieldOrder = Object.keys(json);
  return workflow;
}

function readV1(json: Record<string, unknown>): Workflow {
  if (!isRecord(json.state)) throw new WorkflowFormatError(`expected the graph state object, got ${describe(json.state)}`, 'state');
  const state = json.state as WorkflowState;
  readNodeId(state.lastNodeId ?? 0, 'state.lastNodeId');
  readNumber(state.lastLinkId ?? 0, 'state.lastLinkId');
  const workflow: Workflow = {
    sourceVersion: 1,
    state: { ...state, lastNodeId: state.lastNodeId ?? 0, lastLinkId: state.lastLinkId ?? 0 },
    nodes: readNodes(json.nodes ?? [], 'nodes'),
    links: json.links === undefined ? [] : readLinkObjects(json.links, 'links'),
    unknownFields: {},
  };
  if (json.reroutes !== undefined) {
    if (!Array.isArray(json.reroutes)) throw new WorkflowFormatError(`expected an array, got ${describe(json.reroutes)}`, 'reroutes');
    workflow.reroutes = json.reroutes;
  }
  readCommon(json, workflow);
  for (const [key, value] of Object.entries(json)) if (!TOP_LEVEL_V1.has(key)) workflow.unknownFields[key] = value;
  return workflow;
}

/** Fields both versions share. */
function readCommon(json: Record<string, unknown>, workflow: Workflow): void {
  if (json.id !== undefined) {
    if (typeof json.id !== 'string') throw new WorkflowFormatError(`expected a string, got ${describe(json.id)}`, 'id');
    workflow.id = json.id;
  }
  if (json.revision !== undefined) workflow.revision = readNumber(json.revision, 'revision');
  if (json.floatingLinks !== undefined) workflow.floatingLinks = readLinkObjects(json.floatingLinks, 'floatingLinks');
  if (json.groups !== undefined) workflow.groups = readGroups(json.groups, 'groups');
  if (json.config !== undefined) workflow.config = readRecord(json.config, 'config');
  if (json.extra !== undefined) workflow.extra = readRecord(json.extra, 'extra');
  if (json.definitions !== undefined) {
    const definitions = readRecord(json.definitions, 'definitions');
    const { subgraphs, ...rest } = definitions;
    if (subgraphs !== undefined) {
      if (!Array.isArray(subgraphs)) throw new WorkflowFormatError(`expected an array, got ${describe(subgraphs)}`, 'definitions.subgraphs');
      workflow.subgraphs = subgraphs.map((s, i) => readSubgraph(s, `definitions.subgraphs[${i}]`));
    }
    if (Object.keys(rest).length > 0 || subgraphs === undefined) workflow.definitionsExtra = rest;
  }
}

function readSubgraph(raw: unknown, path: string): SubgraphDefinition {
  const def = readRecord(raw, path);
  if (typeof def.id !== 'string' || def.id === '') throw new WorkflowFormatError(`expected a string id, got ${describe(def.id)}`, `${path}.id`);
  if (def.name !== undefined && typeof def.name !== 'string') throw new WorkflowFormatError(`expected a string, got ${describe(def.name)}`, `${path}.name`);
  readNodes(def.nodes ?? [], `${path}.nodes`);
  readLinkObjects(def.links ?? [], `${path}.links`);
  for (const key of ['inputs', 'outputs'] as const) {
    const slots = def[key] ?? [];
    if (!Array.isArray(slots)) throw new WorkflowFormatError(`expected an array, got ${describe(slots)}`, `${path}.${key}`);
    slots.forEach((slot, i) => {
      const slotPath = `${path}.${key}[${i}]`;
      const io = readRecord(slot, slotPath);
      if (typeof io.name !== 'string') throw new WorkflowFormatError(`expected a string name, got ${describe(io.name)}`, `${slotPath}.name`);
      if (io.linkIds !== undefined && !(Array.isArray(io.linkIds) && io.linkIds.every((l) => typeof l === 'number'))) {
        throw new WorkflowFormatError('expected an array of link ids', `${slotPath}.linkIds`);
      }
    });
  }
  if (def.groups !== undefined) readGroups(def.groups, `${path}.groups`);
  // Returned as read (key order included); missing arrays are only defaulted where a reader needs them.
  return def as SubgraphDefinition;
}

function readNodes(raw: unknown, path: string): WorkflowNode[] {
  if (!Array.isArray(raw)) throw new WorkflowFormatError(`expected an array of nodes, got ${describe(raw)}`, path);
  return raw.map((n, i) => readNode(n, `${path}[${i}]`));
}

function readNode(raw: unknown, path: string): WorkflowNode {
  const node = readRecord(raw, path);
  readNodeId(node.id, `${path}.id`);
  if (typeof node.type !== 'string') throw new WorkflowFormatError(`expected a string node type, got ${describe(node.type)}`, `${path}.type`);
  if (node.mode !== undefined && typeof node.mode !== 'number') throw new WorkflowFormatError(`expected a number, got ${describe(node.mode)}`, `${path}.mode`);
  if (node.title !== undefined && typeof node.title !== 'string') throw new WorkflowFormatError(`expected a string, got ${describe(node.title)}`, `${path}.title`);
  if (node.inputs !== undefined) {
    if (!Array.isArray(node.inputs)) throw new WorkflowFormatError(`expected an array, got ${describe(node.inputs)}`, `${path}.inputs`);
    node.inputs.forEach((input, i) => {
      const p = `${path}.inputs[${i}]`;
      const slot = readRecord(input, p);
      if (typeof slot.name !== 'string') throw new WorkflowFormatError(`expected a string name, got ${describe(slot.name)}`, `${p}.name`);
      if (slot.link !== undefined && slot.link !== null && typeof slot.link !== 'number') {
        throw new WorkflowFormatError(`expected a link id or null, got ${describe(slot.link)}`, `${p}.link`);
      }
      if (slot.widget !== undefined && !(isRecord(slot.widget) && typeof slot.widget.name === 'string')) {
        throw new WorkflowFormatError('expected {name: string}', `${p}.widget`);
      }
    });
  }
  if (node.outputs !== undefined) {
    if (!Array.isArray(node.outputs)) throw new WorkflowFormatError(`expected an array, got ${describe(node.outputs)}`, `${path}.outputs`);
    node.outputs.forEach((output, i) => {
      const p = `${path}.outputs[${i}]`;
      const slot = readRecord(output, p);
      if (slot.links !== undefined && slot.links !== null && !(Array.isArray(slot.links) && slot.links.every((l) => typeof l === 'number'))) {
        throw new WorkflowFormatError('expected an array of link ids or null', `${p}.links`);
      }
    });
  }
  if (node.properties !== undefined) readRecord(node.properties, `${path}.properties`);
  if (node.widgets_values !== undefined && !Array.isArray(node.widgets_values) && !isRecord(node.widgets_values)) {
    throw new WorkflowFormatError(`expected an array, got ${describe(node.widgets_values)}`, `${path}.widgets_values`);
  }
  return node as WorkflowNode;
}

function linkFromArray(raw: unknown, path: string): WorkflowLink {
  if (!Array.isArray(raw) || raw.length < 6) throw new WorkflowFormatError(`expected [id, origin_id, origin_slot, target_id, target_slot, type], got ${describe(raw)}`, path);
  const [id, originId, originSlot, targetId, targetSlot, type] = raw as unknown[];
  if (typeof type !== 'string' && typeof type !== 'number') throw new WorkflowFormatError(`expected a type string, got ${describe(type)}`, `${path}[5]`);
  return {
    id: readNumber(id, `${path}[0]`),
    origin_id: readNodeId(originId, `${path}[1]`),
    origin_slot: readNumber(originSlot, `${path}[2]`),
    target_id: readNodeId(targetId, `${path}[3]`),
    target_slot: readNumber(targetSlot, `${path}[4]`),
    type,
  };
}

function readLinkObjects(raw: unknown, path: string): WorkflowLink[] {
  if (!Array.isArray(raw)) throw new WorkflowFormatError(`expected an array of links, got ${describe(raw)}`, path);
  return raw.map((l, i) => {
    const p = `${path}[${i}]`;
    const link = readRecord(l, p);
    readNumber(link.id, `${p}.id`);
    readNodeId(link.origin_id, `${p}.origin_id`);
    readNumber(link.origin_slot, `${p}.origin_slot`);
    readNodeId(link.target_id, `${p}.target_id`);
    readNumber(link.target_slot, `${p}.target_slot`);
    return link as WorkflowLink;
  });
}

function readGroups(raw: unknown, path: string): WorkflowGroup[] {
  if (!Array.isArray(raw)) throw new WorkflowFormatError(`expected an array, got ${describe(raw)}`, path);
  raw.forEach((g, i) => readRecord(g, `${path}[${i}]`));
  return raw as WorkflowGroup[];
}

function readRecord(raw: unknown, path: string): Record<string, unknown> {
  if (!isRecord(raw)) throw new WorkflowFormatError(`expected an object, got ${describe(raw)}`, path);
  return raw;
}

function readNumber(raw: unknown, path: string): number {
  if (typeof raw !== 'number' || !Number.isFinite(raw)) throw new WorkflowFormatError(`expected a number, got ${describe(raw)}`, path);
  return raw;
}

function readNodeId(raw: unknown, path: string): NodeId {
  if ((typeof raw === 'number' && Number.isFinite(raw)) || (typeof raw === 'string' && raw !== '')) return raw;
  throw new WorkflowFormatError(`expected a node id (number or string), got ${describe(raw)}`, path);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

/** Deep copy of JSON data; anything that is not JSON (functions, cycles, class instances' methods) is a format error. */
function cloneJson(value: Record<string, unknown>, path: string): Record<string, unknown> {
  try {
    return structuredClone(value);
  } catch (error) {
    throw new WorkflowFormatError(`not plain JSON data (${error instanceof Error ? error.message : String(error)})`, path || undefined);
  }
}

/**
 * Writes the internal shape as a version 0.4 file, the format ComfyUI's "Save" produces. A 0.4 file read with
 * `parseWorkflow` comes back equal, key order included. From version 1, native reroutes move to `extra.reroutes` and
 * link parents to `extra.linkExtensions`, as litegraph's own `serialize()` does.
 */
export function serializeWorkflow(workflow: Workflow): UiWorkflowV04 {
  const out: Record<string, unknown> = {};
  if (workflow.id !== undefined) out.id = workflow.id;
  if (workflow.revision !== undefined) out.revision = workflow.revision;
  out.last_node_id = workflow.state.lastNodeId;
  out.last_link_id = workflow.state.lastLinkId;
  out.nodes = structuredClone(workflow.nodes);
  out.links = workflow.links.map(linkToArray);
  if (workflow.floatingLinks !== undefined) out.floatingLinks = structuredClone(workflow.floatingLinks);
  if (workflow.groups !== undefined) out.groups = structuredClone(workflow.groups);
  if (workflow.subgraphs !== undefined || workflow.definitionsExtra !== undefined) {
    const definitions: Record<string, unknown> = {};
    if (workflow.subgraphs !== undefined) definitions.subgraphs = structuredClone(workflow.subgraphs);
    Object.assign(definitions, structuredClone(workflow.definitionsExtra ?? {}));
    out.definitions = definitions;
  }
  if (workflow.config !== undefined) out.config = structuredClone(workflow.config);
  let extra = workflow.extra === undefined ? undefined : structuredClone(workflow.extra);
  if (workflow.reroutes?.length) {
    extra ??= {};
    extra.reroutes = structuredClone(workflow.reroutes);
    extra.linkExtensions = workflow.links.filter((l) => l.parentId !== undefined).map((l) => ({ id: l.id, parentId: l.parentId }));
  }
  if (extra !== undefined) out.extra = extra;
  Object.assign(out, structuredClone(workflow.unknownFields));
  out.version = 0.4;
  if (!workflow.fieldOrder) return out as UiWorkflowV04;
  const ordered: Record<string, unknown> = {};
  for (const key of workflow.fieldOrder) if (key in out) ordered[key] = out[key];
  for (const key of Object.keys(out)) if (!(key in ordered)) ordered[key] = out[key];
  return ordered as UiWorkflowV04;
}

function linkToArray(link: WorkflowLink): WorkflowLinkArray {
  return [link.id, link.origin_id, link.origin_slot, link.target_id, link.target_slot, link.type];
}

/** True for the internal shape returned by `parseWorkflow` (raw ComfyUI JSON never has `sourceVersion`). */
export function isParsedWorkflow(value: unknown): value is Workflow {
  return isRecord(value) && (value.sourceVersion === 0.4 || value.sourceVersion === 1) && isRecord(value.state) && Array.isArray(value.links);
}

/**
 * Accepts either the internal shape or raw JSON, so converters can be handed a file's contents directly. Unlike
 * `parseWorkflow` it does not copy: the result shares objects with `value`, so treat it as read-only (the converters
 * only read; `serializeWorkflow` copies).
 */
export function toWorkflow(value: unknown): Workflow {
  return isParsedWorkflow(value) ? value : read(value, false);
}
