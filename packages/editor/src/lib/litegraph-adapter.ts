/**
 * The one module that touches @comfyorg/litegraph. litegraph is frozen upstream, so every call to it lives here and the
 * rest of the editor talks to {@link GraphEditor}: load and serialise workflows, register node classes from
 * /object_info, mark running nodes, progress, previews, outputs and errors, and run canvas commands.
 */
import {
  LGraph,
  LGraphCanvas,
  LGraphGroup,
  LGraphNode,
  LiteGraph,
  SubgraphNode,
  type INodeInputSlot,
  type ISerialisedGraph,
  type LGraphCanvasState,
  type Subgraph,
} from '@comfyorg/litegraph';
import type { IBaseWidget } from '@comfyorg/litegraph/dist/types/widgets';
import '@comfyorg/litegraph/style.css';
import { acceptTimestampTies } from './double-click.ts';
import { CONTROL_MODES, normaliseNumber, planNode, type NodePlan, type ObjectInfo, type PlannedWidget, type WidgetSpec } from './object-info.ts';
import {
  mergeTarget, nextComboValue, planPrimitive, PRIMITIVE_IDLE_OUTPUT, PRIMITIVE_REPLACE_PROPERTY, PRIMITIVE_TYPE,
} from './primitive-node.ts';
import { proxyWidgetRefs, type ProxyWidgetRef } from './proxy-widgets.ts';
import { nextSeed } from './seed-control.ts';
import { slotColor } from './slot-colors.ts';

/** A ComfyUI UI workflow as litegraph writes it (version 0.4, with subgraph definitions when present). */
export type UiWorkflow = ISerialisedGraph;

/** Which way a dropped link was heading, so the search can offer nodes that fit. */
export interface SearchRequest {
  /** Where to put the new node, in graph coordinates. */
  graphPos: [number, number];
  /** Where to show the search box, in page coordinates. */
  clientPos: [number, number];
  /** A link dragged out of an output: show nodes with an input of this type. */
  inputType?: string;
  /** A link dragged out of an input: show nodes with an output of this type. */
  outputType?: string;
  /** Opaque: pass it back to {@link GraphEditor.addNode} to connect the new node. */
  pending?: PendingLink;
}

export interface PendingLink {
  node: LGraphNode;
  slot: number;
  direction: 'from-output' | 'from-input';
}

export interface GraphEditorHooks {
  /** The graph changed (a widget, a link, a move): autosave and the undo history listen here. */
  onChange?(): void;
  /** Double-click on empty canvas, or a link released over empty canvas. */
  onSearch?(request: SearchRequest): void;
  /** The LoadImage upload button: upload and return the stored name. */
  uploadImage?(file: File): Promise<string>;
  /** The URL for an input image shown on LoadImage nodes. */
  inputImageUrl?(name: string): string;
  /** The graph shown changed (entering or leaving a subgraph). */
  onGraphPathChange?(path: string[]): void;
  onSelectionChange?(count: number): void;
}

interface NodeDecor {
  running: boolean;
  progress: number | null;
  errors: string[];
  images: HTMLImageElement[];
  preview: HTMLImageElement | null;
}

const SEED_CONTROL = 'control_after_generate';
const CONTROL_FILTER = 'control_filter_list';
const DECOR = Symbol('decor');
const PLAN = Symbol('plan');
/** A connected primitive's value spec (narrowed as further targets join). */
const PRIMITIVE_SPEC = Symbol('primitive-spec');
/** A primitive's output names the widget it feeds (litegraph serialises `widget.name` on outputs). */
type WidgetOutput = LGraphNode['outputs'][number] & { widget?: { name: string } };
type DecoratedNode = LGraphNode & { [DECOR]?: NodeDecor; [PLAN]?: NodePlan; [PRIMITIVE_SPEC]?: WidgetSpec };
/** Marks a widget on a subgraph instance that mirrors an inner node's widget (`properties.proxyWidgets`). */
const PROXY = Symbol('proxy-widget');
type ProxyWidget = IBaseWidget & { [PROXY]?: ProxyWidgetRef };
/** The widget kinds a proxy can mirror: litegraph's own, and our multiline text area. */
const PROXIED_TYPES = new Set(['number', 'combo', 'toggle', 'text', 'customtext']);

/** The editor's canvas: a litegraph graph and canvas plus our behaviour on top. */
export class GraphEditor {
  readonly graph: LGraph;
  readonly canvas: LGraphCanvas;
  #hooks: GraphEditorHooks;
  #plans = new Map<string, NodePlan>();
  #textAreas = new Map<IBaseWidget, { el: HTMLTextAreaElement; node: LGraphNode; seen: boolean }>();
  #overlay: HTMLElement | null;
  #disposers: (() => void)[] = [];
  #loading = false;

  constructor(canvasEl: HTMLCanvasElement, hooks: GraphEditorHooks = {}, overlay?: HTMLElement) {
    this.#hooks = hooks;
    this.#overlay = overlay ?? null;
    configureLiteGraphDefaults();
    this.graph = new LGraph();
    this.canvas = new LGraphCanvas(canvasEl, this.graph);
    acceptTimestampTies(this.canvas.pointer);
    this.canvas.allow_searchbox = true;
    this.canvas.show_info = false;
    // Node shadows cost about a quarter of a frame with hundreds of nodes on screen.
    this.canvas.render_shadows = false;
    this.#registerFrontendNodes();
    this.#listen();
  }

  /** Registers one litegraph class per /object_info entry (again for classes already registered: combos change). */
  registerNodeTypes(info: ObjectInfo): void {
    for (const entry of Object.values(info)) {
      const plan = planNode(entry);
      this.#plans.set(plan.type, plan);
      for (const input of plan.inputs) this.#colourType(input.type);
      for (const output of plan.outputs) this.#colourType(output.type);
      const editor = this;
      class ComfyNode extends LGraphNode {
        static override title = plan.title;
        constructor(title?: string) {
          super(title ?? plan.title, plan.type);
          editor.#build(this, plan);
        }

        // litegraph copies saved slots over the constructed ones index by index, so a file listing fewer inputs
        // (older ComfyUI saves only converted widget sockets) would keep stale slots; start from the file's list.
        override configure(info: Parameters<LGraphNode['configure']>[0]): void {
          if (Array.isArray(info.inputs)) this.inputs = [];
          if (Array.isArray(info.outputs)) this.outputs = [];
          super.configure(info);
        }
      }
      LiteGraph.registerNodeType(plan.type, ComfyNode);
      // Registering overwrites these two from the type name.
      ComfyNode.title = plan.title;
      (ComfyNode as unknown as { category: string }).category = plan.category;
      (ComfyNode as unknown as { description: string }).description = plan.description;
    }
  }

  /** True when a node class is known (from /object_info or the front end's own). */
  hasNodeType(type: string): boolean {
    return type in LiteGraph.registered_node_types;
  }

  /** Gives combo widgets on existing nodes the refreshed lists (models, input images). */
  refreshCombos(info: ObjectInfo): void {
    this.registerNodeTypes(info);
    for (const node of this.#allNodes()) {
      const plan = this.#plans.get(node.type);
      if (!plan) continue;
      for (const input of plan.inputs) {
        if (input.widget?.kind !== 'combo') continue;
        const widget = node.widgets?.find((w) => w.name === input.name);
        if (widget) (widget.options as { values: string[] }).values = input.widget.values;
      }
    }
    this.canvas.setDirty(true, true);
  }

  /**
   * Replaces the graph with a workflow. Nodes of the `missing` types (core's `findMissingNodeTypes`) still load and are
   * drawn with an error outline.
   */
  load(workflow: UiWorkflow, missing: readonly string[] = []): void {
    this.#leaveSubgraph();
    this.#clearTextAreas();
    this.#loading = true;
    try {
      this.graph.configure(structuredClone(workflow));
      this.#settlePrimitives();
      this.#settleProxyWidgets();
    } finally {
      this.#loading = false;
    }
    for (const node of this.#allNodes()) if (missing.includes(node.type)) node.has_errors = true;
    const ds = (workflow.extra as { ds?: { scale: number; offset: [number, number] } } | undefined)?.ds;
    if (ds && Number.isFinite(ds.scale)) {
      this.canvas.ds.scale = ds.scale;
      this.canvas.ds.offset[0] = ds.offset[0];
      this.canvas.ds.offset[1] = ds.offset[1];
    }
    this.#hooks.onGraphPathChange?.(this.graphPath());
    this.canvas.setDirty(true, true);
  }

  /** The whole workflow (from the root graph, wherever the canvas is), in ComfyUI's UI format. */
  serialize(): UiWorkflow {
    const data = this.graph.serialize();
    return JSON.parse(JSON.stringify(data)) as UiWorkflow;
  }

  /** Empties the graph. */
  clear(): void {
    this.#leaveSubgraph();
    this.#clearTextAreas();
    this.graph.clear();
    this.canvas.setDirty(true, true);
    this.#changed();
  }

  /**
   * Sets the canvas's size in CSS pixels and redraws. The backing store is `devicePixelRatio` times larger and the
   * context is scaled to match, so lines and text are sharp on high-DPI screens while everything litegraph measures
   * (pointer positions, the view's offset and scale, overlays) stays in CSS pixels. litegraph itself reads
   * `window.devicePixelRatio` for the background layer and for fitting the view, so that is the ratio used here;
   * call again when it changes (browser zoom, another screen).
   */
  resize(width: number, height: number): void {
    const ratio = pixelRatio();
    const cssWidth = Math.max(1, Math.round(width));
    const cssHeight = Math.max(1, Math.round(height));
    const el = this.canvas.canvas;
    el.style.width = `${cssWidth}px`;
    el.style.height = `${cssHeight}px`;
    el.width = Math.max(1, Math.round(cssWidth * ratio));
    el.height = Math.max(1, Math.round(cssHeight * ratio));
    // The background layer is drawn at the same resolution and copied back at CSS size.
    this.canvas.bgcanvas.width = el.width;
    this.canvas.bgcanvas.height = el.height;
    // Resizing resets the context, so the scale is set afresh each time.
    this.canvas.ctx?.setTransform(ratio, 0, 0, ratio, 0, 0);
    this.canvas.setDirty(true, true);
  }

  /** The device pixels per CSS pixel the canvas is drawn at (the last `resize`). */
  get pixelRatio(): number {
    const el = this.canvas.canvas;
    const css = parseFloat(el.style.width);
    return css > 0 ? el.width / css : 1;
  }

  /** Draws one frame now and returns how long it took in ms (the benchmark's measure). */
  drawFrame(): number {
    const t0 = performance.now();
    this.canvas.draw(true, true);
    return performance.now() - t0;
  }

  /** Adds a node of `type` at `pos` (graph coordinates), connecting it to a dropped link when one is given. */
  addNode(type: string, pos: [number, number], pending?: PendingLink): LGraphNode | null {
    const node = LiteGraph.createNode(type);
    if (!node) return null;
    node.pos = [pos[0], pos[1]];
    const graph = this.canvas.graph ?? this.graph;
    graph.beforeChange();
    graph.add(node);
    if (pending) {
      if (pending.direction === 'from-output') {
        const type = pending.node.outputs[pending.slot]?.type;
        const target = node.inputs.findIndex((i) => type != null && LiteGraph.isValidConnection(type, i.type) && i.link == null);
        if (target >= 0) pending.node.connect(pending.slot, node, target);
      } else {
        const type = pending.node.inputs[pending.slot]?.type;
        const source = node.outputs.findIndex((o) => type != null && LiteGraph.isValidConnection(o.type, type));
        if (source >= 0) node.connect(source, pending.node, pending.slot);
      }
    }
    graph.afterChange();
    this.canvas.selectNode(node);
    this.canvas.setDirty(true, true);
    this.#changed();
    return node;
  }

  /** Converts graph coordinates of the page position into the canvas's graph space. */
  toGraphPos(clientX: number, clientY: number): [number, number] {
    const rect = this.canvas.canvas.getBoundingClientRect();
    const p = this.canvas.ds.convertCanvasToOffset([clientX - rect.left, clientY - rect.top]);
    return [p[0], p[1]];
  }

  /**
   * Puts an uploaded input image (its stored name) where a file was dropped: on the node under `clientPos` when it
   * has an image upload widget (LoadImage), else on a new LoadImage node created there, as ComfyUI does. Without a
   * position the view's centre is used. Returns the node that shows the image, or null when LoadImage is unknown.
   */
  placeInputImage(name: string, clientPos?: [number, number] | null): LGraphNode | null {
    const graph = this.canvas.graph ?? this.graph;
    const rect = this.canvas.canvas.getBoundingClientRect();
    const pos = this.toGraphPos(...(clientPos ?? [rect.left + rect.width / 2, rect.top + rect.height / 2]));
    // Bounds are measured while drawing; measure now so a node added since the last frame counts too.
    const ctx = this.canvas.ctx;
    if (ctx) for (const node of graph.nodes) node.updateArea(ctx);
    const under = graph.getNodeOnPos(pos[0], pos[1]);
    const target = under && this.#imageWidgetName(under) ? under : this.addNode('LoadImage', pos);
    if (!target || !this.setInputImage(target, name)) return null;
    return target;
  }

  /** Sets a node's image upload widget (LoadImage's `image`) to an uploaded name and shows it; false without one. */
  setInputImage(node: LGraphNode, name: string): boolean {
    const widgetName = this.#imageWidgetName(node);
    const widget = widgetName ? node.widgets?.find((w) => w.name === widgetName) : undefined;
    if (!widget) return false;
    const values = (widget.options as { values: string[] }).values;
    if (!values.includes(name)) values.push(name);
    widget.value = name;
    this.#showInputImage(node, name);
    this.#changed();
    return true;
  }

  #imageWidgetName(node: LGraphNode): string | undefined {
    const plan = (node as DecoratedNode)[PLAN];
    return plan?.inputs.find((i) => i.widget?.kind === 'combo' && i.widget.imageUpload)?.name;
  }

  /** Adds an empty group around the selection, or at the view's centre. */
  addGroup(title = 'Group'): void {
    const group = new LGraphGroup(title);
    const selected = [...this.canvas.selectedItems];
    const graph = this.canvas.graph ?? this.graph;
    graph.add(group);
    // Bounding boxes are measured while drawing; draw once so freshly added nodes have theirs.
    this.canvas.draw(true, true);
    if (selected.length) group.resizeTo(selected, 10);
    else {
      const [x, y] = this.toGraphPos(innerWidth / 2, innerHeight / 2);
      group.pos = [x, y];
    }
    this.canvas.setDirty(true, true);
    this.#changed();
  }

  /** Ctrl+M and Ctrl+B: toggles mode 2 (never, muted) or 4 (bypass) on the selected nodes. */
  toggleSelectedMode(mode: 2 | 4): number {
    const nodes = Object.values(this.canvas.selected_nodes);
    if (!nodes.length) return 0;
    const allSet = nodes.every((n) => n.mode === mode);
    for (const n of nodes) n.mode = allSet ? 0 : mode;
    this.canvas.setDirty(true, true);
    this.#changed();
    return nodes.length;
  }

  deleteSelected(): void {
    this.canvas.deleteSelected();
    this.#changed();
  }

  copySelected(): void {
    this.canvas.copyToClipboard();
  }

  paste(): void {
    this.canvas.pasteFromClipboard();
    this.#changed();
  }

  selectAll(): void {
    this.canvas.selectItems();
  }

  /** Turns the selected items into a subgraph node; returns false when nothing is selected. */
  convertSelectionToSubgraph(): boolean {
    const items = new Set(this.canvas.selectedItems);
    if (!items.size) return false;
    const graph = this.canvas.graph ?? this.graph;
    const { node } = graph.convertToSubgraph(items);
    this.canvas.selectNode(node);
    this.canvas.setDirty(true, true);
    this.#changed();
    return true;
  }

  /** Opens a subgraph node for editing (its title button does the same). */
  openSubgraph(nodeId: string | number): boolean {
    const node = (this.canvas.graph ?? this.graph).getNodeById(nodeId);
    if (!(node instanceof SubgraphNode)) return false;
    this.canvas.openSubgraph(node.subgraph);
    return true;
  }

  /** Goes back to the root graph. */
  exitSubgraph(): void {
    this.#leaveSubgraph();
    this.#hooks.onGraphPathChange?.(this.graphPath());
  }

  /** The names of the graphs from the root to the one shown: `['Workflow']` at the root. */
  graphPath(): string[] {
    const current = this.canvas.graph;
    if (!current || current === this.graph) return ['Workflow'];
    return ['Workflow', (current as Subgraph).name ?? 'Subgraph'];
  }

  /** Zooms and pans so every node of the shown graph is in view. */
  fitView(): void {
    const nodes = (this.canvas.graph ?? this.graph).nodes;
    if (!nodes.length) return;
    let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
    for (const n of nodes) {
      x0 = Math.min(x0, n.pos[0]);
      y0 = Math.min(y0, n.pos[1] - LiteGraph.NODE_TITLE_HEIGHT);
      x1 = Math.max(x1, n.pos[0] + n.size[0]);
      y1 = Math.max(y1, n.pos[1] + n.size[1]);
    }
    this.canvas.ds.fitToBounds([x0, y0, x1 - x0, y1 - y0], { zoom: 0.9 });
    this.canvas.setDirty(true, true);
  }

  // ---- seeds -------------------------------------------------------------------------------------------------

  /**
   * Moves every widget with a `control_after_generate` on by its mode, as ComfyUI does after each queue: seeds and
   * other numbers step or randomise, combos step through (or pick from) their list filtered by `control_filter_list`.
   * Widgets fed by a link stay; primitives push their new value to the widgets they feed.
   */
  applyControlAfterGenerate(random: () => number = Math.random): void {
    for (const node of this.#allNodes()) {
      const widgets = node.widgets ?? [];
      let moved = false;
      for (let i = 0; i < widgets.length; i++) {
        const control = widgets[i];
        const target = widgets[i - 1];
        if (!control || !target || control.name !== SEED_CONTROL) continue;
        // A proxy shows an inner node's widgets, which step on that node (once, however many instances show them).
        if ((control as ProxyWidget)[PROXY] || (target as ProxyWidget)[PROXY]) continue;
        if (node.getSlotFromWidget(target)?.link != null || node.mode === 2) continue;
        if (target.type === 'number') {
          const opts = target.options as { min?: number; max?: number; step2?: number };
          target.value = nextSeed(Number(target.value), String(control.value), {
            min: opts.min ?? 0, max: opts.max ?? Number.MAX_SAFE_INTEGER, step: opts.step2 ?? 1,
          }, random);
        } else if (target.type === 'combo') {
          const filter = widgets[i + 1]?.name === CONTROL_FILTER ? String(widgets[i + 1]!.value ?? '') : '';
          const values = (target.options as { values?: unknown }).values;
          if (!Array.isArray(values)) continue;
          target.value = nextComboValue(values.map(String), String(target.value), String(control.value), filter, random);
        } else continue;
        moved = true;
      }
      if (moved && node.type === PRIMITIVE_TYPE) this.#pushPrimitive(node);
    }
    this.canvas.setDirty(true, false);
    this.#changed();
  }

  // ---- primitives --------------------------------------------------------------------------------------------

  /**
   * The widget a primitive's output would feed through `input` of `target`: the target's widget spec and whether it
   * has a seed control. Null when the input backs no widget (a plain socket, or a node without a plan).
   */
  #widgetTarget(target: LGraphNode, widgetName: string | undefined): { spec: WidgetSpec; seed: boolean } | null {
    const plan = (target as DecoratedNode)[PLAN];
    const input = widgetName ? plan?.inputs.find((i) => i.name === widgetName) : undefined;
    if (!plan || !input?.widget) return null;
    return { spec: input.widget, seed: plan.widgets.some((w) => w.kind === 'control' && w.of === widgetName) };
  }

  /** litegraph asks before linking a primitive's output: only widget inputs, and further ones must fit the first. */
  #primitiveAccepts(node: LGraphNode, input: unknown, target: unknown): boolean {
    const widgetName = (input as INodeInputSlot | undefined)?.widget?.name;
    if (!(target instanceof LGraphNode) || !widgetName) return false;
    const wanted = this.#widgetTarget(target, widgetName);
    if (!wanted) return false;
    const current = (node as DecoratedNode)[PRIMITIVE_SPEC];
    if (!current || !node.outputs[0]?.links?.length) return true;
    const merged = mergeTarget(current, wanted.spec);
    if (!merged) return false;
    if (merged !== current && merged.kind === 'number' && current.kind === 'number') {
      // Narrow the shown widget in place: its callback normalises against this same spec object.
      current.min = merged.min;
      current.max = merged.max;
      const widget = node.widgets?.[0];
      if (widget) {
        Object.assign(widget.options as object, { min: merged.min, max: merged.max });
        widget.value = Math.min(merged.max, Math.max(merged.min, Number(widget.value)));
      }
    }
    return true;
  }

  /** A primitive's links changed: build its widgets on the first, drop them after the last, else push the value. */
  #primitiveLinksChanged(node: LGraphNode, connected: boolean): void {
    const links = node.outputs[0]?.links ?? [];
    if (links.length && !node.widgets?.length) this.#buildPrimitive(node);
    else if (!links.length && node.widgets?.length) this.#resetPrimitive(node);
    else if (connected && !this.#loading) this.#pushPrimitive(node);
  }

  /** Shows the widget of the first target on a primitive (ComfyUI's first connection). */
  #buildPrimitive(node: LGraphNode): boolean {
    const output = node.outputs[0] as WidgetOutput | undefined;
    const graph = node.graph;
    const linkId = output?.links?.[0];
    if (!output || !graph || linkId == null) return false;
    const link = graph._links.get(linkId);
    const target = link ? graph.getNodeById(link.target_id) : null;
    if (!link || !target) return false;
    // A saved output names its widget; while a file loads, the target's slots may not be configured yet.
    const widgetName = output.widget?.name ?? (this.#loading ? undefined : target.inputs[link.target_slot]?.widget?.name);
    const wanted = this.#widgetTarget(target, widgetName);
    if (!wanted || !widgetName) return false;
    const current = target.widgets?.find((w) => w.name === widgetName)?.value;
    const plan = planPrimitive(wanted.spec, wanted.seed, current);
    output.type = plan.outputType;
    output.name = plan.outputType;
    output.widget = { name: widgetName };
    (node as DecoratedNode)[PRIMITIVE_SPEC] = plan.spec;
    const push = () => this.#pushPrimitive(node);
    this.#addWidget(node, { kind: 'input', spec: plan.spec }, push);
    const changed = () => {
      push();
      this.#changed();
    };
    if (plan.control) node.addWidget('combo', SEED_CONTROL, plan.control, changed, { values: [...CONTROL_MODES] });
    if (plan.filter) node.addWidget('text', CONTROL_FILTER, '', changed, {});
    const size = node.computeSize();
    node.setSize([Math.max(node.size[0], size[0] ?? 0, 220), Math.max(node.size[1], size[1] ?? 0)]);
    this.canvas.setDirty(true, true);
    return true;
  }

  /** Back to an unconnected primitive: a `*` output and no widgets. */
  #resetPrimitive(node: LGraphNode): void {
    const output = node.outputs[0] as WidgetOutput | undefined;
    if (output) {
      output.type = '*';
      output.name = PRIMITIVE_IDLE_OUTPUT;
      delete output.widget;
    }
    for (const widget of node.widgets ?? []) {
      const area = this.#textAreas.get(widget);
      area?.el.remove();
      this.#textAreas.delete(widget);
    }
    node.widgets = [];
    delete (node as DecoratedNode)[PRIMITIVE_SPEC];
    this.canvas.setDirty(true, true);
  }

  /** Copies a primitive's value into every widget it feeds (ComfyUI's `applyToGraph`), through their callbacks. */
  #pushPrimitive(node: LGraphNode): void {
    const graph = node.graph;
    const value = node.widgets?.[0]?.value;
    if (!graph || value === undefined) return;
    for (const linkId of node.outputs[0]?.links ?? []) {
      const link = graph._links.get(linkId);
      const target = link ? graph.getNodeById(link.target_id) : null;
      const name = link ? target?.inputs[link.target_slot]?.widget?.name : undefined;
      const widget = name ? target?.widgets?.find((w) => w.name === name) : undefined;
      if (!widget) continue;
      widget.value = value;
      widget.callback?.(value);
    }
    this.canvas.setDirty(true, false);
  }

  /**
   * After a file loads: primitives whose saved output did not name its widget get theirs now that every node is
   * configured (their saved values restored), and every primitive pushes its value to its targets.
   */
  #settlePrimitives(): void {
    for (const node of this.#allNodes()) {
      if (node.type !== PRIMITIVE_TYPE) continue;
      if (node.outputs[0]?.links?.length && !node.widgets?.length) {
        const saved = (node as { widgets_values?: unknown[] }).widgets_values;
        this.#loading = false;
        try {
          this.#buildPrimitive(node);
        } finally {
          this.#loading = true;
        }
        if (Array.isArray(saved)) saved.forEach((v, i) => { if (node.widgets?.[i]) node.widgets[i]!.value = v as never; });
      }
      this.#pushPrimitive(node);
    }
  }

  // ---- proxy widgets -----------------------------------------------------------------------------------------

  /**
   * After a file loads: every subgraph instance shows its proxied widgets again, now that every subgraph definition
   * (nested ones included, which litegraph may configure after their first instance) has its nodes and widgets.
   */
  #settleProxyWidgets(): void {
    for (const node of this.#allNodes()) if (node instanceof SubgraphNode) this.#attachProxyWidgets(node);
  }

  /**
   * Shows on a subgraph instance the inner widgets its `properties.proxyWidgets` lists (ComfyUI's newer front end
   * does the same), after the widgets litegraph promotes through subgraph inputs. Each mirrors the inner widget's
   * type and options and reads and writes the inner widget's value, so core's `uiToApi`, which reads the inner node's
   * `widgets_values`, sees every change. They are not serialised: the instance's `widgets_values` keep only the
   * promoted inputs' values, and `proxyWidgets` stays as it was loaded. Entries whose widget cannot be found are
   * left out (and kept in the property).
   */
  #attachProxyWidgets(node: SubgraphNode): void {
    // Configuring empties the list in place; earlier proxies still there (a second settle) are replaced.
    for (const widget of node.widgets) {
      if (!(widget as ProxyWidget)[PROXY]) continue;
      this.#textAreas.get(widget)?.el.remove();
      this.#textAreas.delete(widget);
    }
    const kept = node.widgets.filter((w) => !(w as ProxyWidget)[PROXY]);
    node.widgets.length = 0;
    node.widgets.push(...kept);
    let added = 0;
    for (const ref of proxyWidgetRefs(node.properties?.['proxyWidgets'])) {
      const inner = resolveProxied(node, ref);
      if (!inner || !PROXIED_TYPES.has(String(inner.type))) continue;
      this.#addProxyWidget(node, ref, inner);
      added++;
    }
    if (!added) return;
    const size = node.computeSize();
    node.setSize([Math.max(node.size[0], size[0] ?? 0), Math.max(node.size[1], size[1] ?? 0)]);
    this.canvas.setDirty(true, true);
  }

  #addProxyWidget(node: SubgraphNode, ref: ProxyWidgetRef, inner: IBaseWidget): void {
    // Looked up on each use: undo and paste replace inner nodes, and the widget shown must follow.
    const source = () => resolveProxied(node, ref);
    let last = inner.value;
    const onChange = () => {
      const target = source();
      // The inner widget's own callback normalises numbers, shows a picked image and reports the change.
      if (target?.callback) target.callback(target.value);
      else this.#changed();
      this.canvas.setDirty(true, false);
    };
    const widget: IBaseWidget = inner.type === 'customtext'
      ? this.#addTextArea(node, ref.widgetName, String(inner.value ?? ''), (inner.options as { placeholder?: string }).placeholder)
      // The options object is shared, so refreshed combo lists reach the proxy too.
      : node.addWidget(inner.type as 'number', ref.widgetName, inner.value as number, onChange, inner.options as object);
    widget.callback = onChange;
    widget.serialize = false;
    if (inner.label) widget.label = inner.label;
    Object.defineProperty(widget, 'value', {
      configurable: true,
      enumerable: true,
      get: () => {
        const target = source();
        if (target) last = target.value;
        return last;
      },
      set: (value: IBaseWidget['value']) => {
        const target = source();
        if (target) target.value = value;
        last = value;
      },
    });
    (widget as ProxyWidget)[PROXY] = ref;
  }

  // ---- execution display -------------------------------------------------------------------------------------

  /** Outlines the running node (by execution id; `a:b` ids point into subgraph nodes) and clears the others. */
  setRunningNode(executionId: string | null): void {
    const target = executionId ? this.#nodeForExecutionId(executionId) : null;
    if (target) addRunningStroke(target);
    for (const node of this.#allNodes()) decorOf(node).running = node === target;
    this.canvas.setDirty(true, false);
  }

  /** A node's progress in 0..1, or null to hide its bar. */
  setNodeProgress(executionId: string, fraction: number | null): void {
    const node = this.#nodeForExecutionId(executionId);
    if (!node) return;
    decorOf(node).progress = fraction;
    this.canvas.setDirty(true, false);
  }

  /** Shows images on a node (SaveImage/PreviewImage outputs, LoadImage's input). */
  setNodeImages(executionId: string, urls: string[]): void {
    const node = this.#nodeForExecutionId(executionId);
    if (!node) return;
    const decor = decorOf(node);
    decor.preview = null;
    decor.images = urls.map((url) => this.#image(url));
    this.#ensureImageRoom(node);
  }

  /** A live sampler preview on a node; replaced by the next one. */
  setNodePreview(executionId: string, url: string | null): void {
    const node = this.#nodeForExecutionId(executionId);
    if (!node) return;
    decorOf(node).preview = url ? this.#image(url) : null;
    this.canvas.setDirty(true, false);
  }

  /** Outlines the nodes in `errors` in red and writes their messages under them; others are cleared. */
  setNodeErrors(errors: Map<string, string[]>): void {
    const marked = new Set<LGraphNode>();
    for (const [id, messages] of errors) {
      const node = this.#nodeForExecutionId(id);
      if (!node) continue;
      const decor = decorOf(node);
      // Several inner nodes of one subgraph land on the same node: gather their messages.
      decor.errors = marked.has(node) ? [...decor.errors, ...messages] : [...messages];
      marked.add(node);
      node.has_errors = true;
    }
    for (const node of this.#allNodes()) {
      if (marked.has(node)) continue;
      decorOf(node).errors = [];
      if (this.#plans.has(node.type) || node.type in LiteGraph.registered_node_types) node.has_errors = false;
    }
    this.canvas.setDirty(true, true);
  }

  /** Clears running outlines and progress bars (errors stay until the next queue). */
  clearExecution(): void {
    for (const node of this.#allNodes()) {
      const d = decorOf(node);
      d.running = false;
      d.progress = null;
      d.preview = null;
    }
    this.canvas.setDirty(true, false);
  }

  /** The display title of a node by execution id, for panels and messages. */
  nodeTitle(executionId: string): string | undefined {
    return this.#nodeForExecutionId(executionId)?.title;
  }

  /** Selects and centres a node. */
  focusNode(executionId: string): void {
    const node = this.#nodeForExecutionId(executionId);
    if (!node) return;
    this.canvas.selectNode(node);
    this.canvas.centerOnNode(node);
  }

  /** Node counts for the status bar and tests. */
  stats(): { nodes: number; links: number; groups: number; subgraphs: number } {
    return { nodes: this.graph.nodes.length, links: this.graph._links.size, groups: this.graph.groups.length, subgraphs: this.graph.subgraphs.size };
  }

  destroy(): void {
    for (const d of this.#disposers) d();
    this.#clearTextAreas();
    this.canvas.stopRendering();
    this.canvas.unbindEvents();
  }

  // ---- internals ---------------------------------------------------------------------------------------------

  #build(node: LGraphNode, plan: NodePlan): void {
    const decorated = node as DecoratedNode;
    decorated[PLAN] = plan;
    node.serialize_widgets = true;
    for (const item of plan.widgets) this.#addWidget(node, item);
    for (const input of plan.inputs) {
      if (input.widget) node.addInput(input.name, input.type, { widget: { name: input.name } });
      else node.addInput(input.name, input.type, input.optional ? { shape: LiteGraph.CIRCLE_SHAPE } : {});
    }
    for (const output of plan.outputs) {
      node.addOutput(output.name, output.type, output.isList ? { shape: LiteGraph.GRID_SHAPE } : {});
    }
    const size = node.computeSize();
    node.size = [Math.max(size[0] ?? 0, 220), size[1] ?? 60];
    if (plan.inputs.some((i) => i.widget?.kind === 'combo' && i.widget.imageUpload)) this.#ensureImageRoom(node);
    const editor = this;
    node.onConfigure = function () {
      // Files from older ComfyUI list only the widget inputs that were converted; give every widget back its socket,
      // keeping the saved size (adding a slot grows the node to its computed size).
      const saved: [number, number] = [this.size[0], this.size[1]];
      for (const input of plan.inputs) {
        if (!input.widget || this.inputs.some((i) => i.name === input.name)) continue;
        this.addInput(input.name, input.type, { widget: { name: input.name } });
      }
      this.size = saved;
      for (const input of plan.inputs) {
        if (input.widget?.kind !== 'combo' || !input.widget.imageUpload) continue;
        const widget = this.widgets?.find((x) => x.name === input.name);
        if (widget) editor.#showInputImage(this, String(widget.value));
      }
    };
    node.onDrawForeground = function (ctx) {
      editor.#drawDecor(this, ctx);
    };
    node.onDrawBackground = function (ctx) {
      editor.#drawImages(this, ctx);
    };
  }

  /** Adds one planned widget; `onValue` runs on each change before the graph-change hook (primitives push there). */
  #addWidget(node: LGraphNode, item: PlannedWidget, onValue?: () => void): void {
    const changed = () => {
      onValue?.();
      this.#changed();
    };
    if (item.kind === 'control') {
      node.addWidget('combo', SEED_CONTROL, 'randomize', changed, { values: [...CONTROL_MODES] });
      return;
    }
    if (item.kind === 'filter') {
      node.addWidget('text', 'control_filter_list', '', changed, {});
      return;
    }
    if (item.kind === 'upload') {
      // The saved value 'image' keeps widgets_values in ComfyUI's layout.
      node.addWidget('button', 'upload', 'image', () => this.#pickAndUpload(node, item.of), {});
      return;
    }
    const spec = item.spec;
    switch (spec.kind) {
      case 'number': {
        const widget = node.addWidget('number', spec.name, spec.value, (v: number) => {
          widget.value = normaliseNumber(Number(v), spec);
          changed();
        }, { min: spec.min, max: spec.max, step2: spec.step, step: spec.step * 10, precision: spec.precision });
        return;
      }
      case 'combo': {
        const editor = this;
        node.addWidget('combo', spec.name, spec.value, (v: string) => {
          if (spec.imageUpload) editor.#showInputImage(node, v);
          changed();
        }, { values: spec.values });
        if (spec.imageUpload && spec.value) this.#showInputImage(node, spec.value);
        return;
      }
      case 'toggle':
        node.addWidget('toggle', spec.name, spec.value, changed, { on: spec.labelOn ?? 'true', off: spec.labelOff ?? 'false' });
        return;
      case 'text':
        if (spec.multiline) this.#addTextArea(node, spec.name, spec.value, spec.placeholder, onValue);
        else node.addWidget('text', spec.name, spec.value, changed, {});
        return;
    }
  }

  /**
   * A multiline STRING: a tall widget on the canvas with a real textarea laid over it while it is on screen,
   * as ComfyUI's prompt boxes are.
   */
  #addTextArea(node: LGraphNode, name: string, value: string, placeholder?: string, onValue?: () => void): IBaseWidget {
    const editor = this;
    const widget: IBaseWidget = {
      name, type: 'customtext', value, y: 0, options: { multiline: true }, serialize: true,
      computeLayoutSize: () => ({ minHeight: 60, minWidth: 200, maxHeight: 1e6 }),
      draw(ctx: CanvasRenderingContext2D, n: LGraphNode, width: number, y: number) {
        const height = (this.computedHeight ?? 60) - 4;
        ctx.fillStyle = '#1b1b1b';
        ctx.fillRect(10, y, width - 20, height);
        const area = editor.#textAreaFor(this, n, placeholder);
        if (!area || editor.canvas.low_quality || n.getSlotFromWidget(this)?.link != null || n.flags.collapsed) {
          if (area) area.el.style.display = 'none';
          ctx.fillStyle = '#999';
          ctx.font = '12px sans-serif';
          ctx.fillText(String(this.value ?? '').slice(0, Math.max(0, Math.floor((width - 30) / 7))), 15, y + 16);
          return;
        }
        area.seen = true;
        editor.#placeTextArea(area.el, n, y, width, height);
      },
      callback: () => {
        onValue?.();
        editor.#changed();
      },
    };
    return node.addCustomWidget(widget);
  }

  #textAreaFor(widget: IBaseWidget, node: LGraphNode, placeholder?: string) {
    if (!this.#overlay) return undefined;
    let entry = this.#textAreas.get(widget);
    if (!entry) {
      const el = document.createElement('textarea');
      el.className = 'lg-textarea';
      el.spellcheck = false;
      if (placeholder) el.placeholder = placeholder;
      el.value = String(widget.value ?? '');
      el.addEventListener('input', () => {
        widget.value = el.value;
        widget.callback?.(el.value);
      });
      el.addEventListener('keydown', (e) => e.stopPropagation());
      this.#overlay.appendChild(el);
      entry = { el, node, seen: true };
      this.#textAreas.set(widget, entry);
    }
    if (document.activeElement !== entry.el && entry.el.value !== String(widget.value ?? '')) entry.el.value = String(widget.value ?? '');
    return entry;
  }

  #placeTextArea(el: HTMLTextAreaElement, node: LGraphNode, y: number, width: number, height: number): void {
    const { scale, offset } = this.canvas.ds;
    const left = (node.pos[0] + 10 + offset[0]) * scale;
    const top = (node.pos[1] + y + offset[1]) * scale;
    el.style.display = 'block';
    el.style.left = `${left}px`;
    el.style.top = `${top}px`;
    el.style.width = `${width - 20}px`;
    el.style.height = `${height}px`;
    el.style.transform = `scale(${scale})`;
  }

  #clearTextAreas(): void {
    for (const { el } of this.#textAreas.values()) el.remove();
    this.#textAreas.clear();
  }

  #pickAndUpload(node: LGraphNode, widgetName: string): void {
    const upload = this.#hooks.uploadImage;
    if (!upload) return;
    const input = document.createElement('input');
    input.type = 'file';
    input.accept = 'image/png,image/jpeg,image/webp';
    input.onchange = async () => {
      const file = input.files?.[0];
      if (!file) return;
      const name = await upload(file);
      if (node.widgets?.some((w) => w.name === widgetName)) this.setInputImage(node, name);
    };
    input.click();
  }

  #showInputImage(node: LGraphNode, name: string): void {
    if (!name || !this.#hooks.inputImageUrl) return;
    const decor = decorOf(node);
    decor.images = [this.#image(this.#hooks.inputImageUrl(name))];
    this.#ensureImageRoom(node);
  }

  #image(url: string): HTMLImageElement {
    const img = new Image();
    img.onload = () => this.canvas.setDirty(true, false);
    img.src = url;
    return img;
  }

  #ensureImageRoom(node: LGraphNode): void {
    const min = node.computeSize()[1] ?? 60;
    if (node.size[1] < min + 200) node.setSize([Math.max(node.size[0], 256), min + 256]);
    this.canvas.setDirty(true, true);
  }

  #drawImages(node: LGraphNode, ctx: CanvasRenderingContext2D): void {
    const decor = (node as DecoratedNode)[DECOR];
    if (!decor || node.flags.collapsed) return;
    const img = decor.preview ?? decor.images[0];
    if (!img || !img.complete || !img.naturalWidth) return;
    const top = widgetsBottom(node);
    const w = node.size[0] - 20;
    const h = node.size[1] - top - 10;
    if (w < 10 || h < 10) return;
    const scale = Math.min(w / img.naturalWidth, h / img.naturalHeight);
    const dw = img.naturalWidth * scale;
    const dh = img.naturalHeight * scale;
    ctx.drawImage(img, 10 + (w - dw) / 2, top + (h - dh) / 2, dw, dh);
    if (decor.images.length > 1 && !decor.preview) {
      ctx.fillStyle = '#ddd';
      ctx.font = '12px sans-serif';
      ctx.fillText(`1 / ${decor.images.length}`, 14, top + 14);
    }
  }

  #drawDecor(node: LGraphNode, ctx: CanvasRenderingContext2D): void {
    const decor = (node as DecoratedNode)[DECOR];
    if (!decor) return;
    if (decor.progress != null) {
      ctx.fillStyle = '#2a8f3a';
      ctx.fillRect(0, -LiteGraph.NODE_TITLE_HEIGHT, node.size[0] * Math.min(1, Math.max(0, decor.progress)), 4);
    }
    if (decor.errors.length) {
      ctx.font = '12px sans-serif';
      const lines = decor.errors.flatMap((m) => wrap(m, Math.max(20, Math.floor(node.size[0] / 7))));
      const h = lines.length * 15 + 8;
      const y0 = (node.flags.collapsed ? 0 : node.size[1]) + 6;
      ctx.fillStyle = 'rgba(90, 0, 0, 0.9)';
      ctx.fillRect(0, y0, node.size[0], h);
      ctx.fillStyle = '#ffb4b4';
      lines.forEach((line, i) => ctx.fillText(line, 6, y0 + 16 + i * 15));
    }
  }

  #colourType(type: string): void {
    const colour = slotColor(type);
    if (!colour) return;
    LGraphCanvas.link_type_colors[type] = colour;
    this.canvas.default_connection_color_byType[type] = colour;
  }

  #registerFrontendNodes(): void {
    const editor = this;
    class NoteNode extends LGraphNode {
      constructor(title?: string) {
        super(title ?? 'Note', 'Note');
        this.isVirtualNode = true;
        this.serialize_widgets = true;
        editor.#addTextArea(this, 'text', '');
        this.color = '#432';
        this.bgcolor = '#653';
        this.size = [400, 160];
      }
    }
    class MarkdownNoteNode extends NoteNode {}
    class RerouteNode extends LGraphNode {
      constructor(title?: string) {
        super(title ?? 'Reroute', 'Reroute');
        this.isVirtualNode = true;
        this.addInput('', '*');
        this.addOutput('', '*');
        this.size = [75, 26];
      }
    }
    // ComfyUI's PrimitiveNode: a virtual node whose output feeds widget inputs; once linked it shows the first
    // target's widget and pushes its value to every target.
    class PrimitiveNode extends LGraphNode {
      constructor(title?: string) {
        super(title ?? 'Primitive', PRIMITIVE_TYPE);
        this.addOutput(PRIMITIVE_IDLE_OUTPUT, '*');
        this.serialize_widgets = true;
        this.isVirtualNode = true;
        this.properties[PRIMITIVE_REPLACE_PROPERTY] = false;
        this.onConnectOutput = (_slot, _type, input, target) => editor.#primitiveAccepts(this, input, target);
        this.onConnectionsChange = (type, _index, connected) => {
          if (type === LiteGraph.OUTPUT) editor.#primitiveLinksChanged(this, connected);
        };
      }
    }
    for (const [type, cls, category, title] of [
      ['Note', NoteNode, 'utils', 'Note'], ['MarkdownNote', MarkdownNoteNode, 'utils', 'MarkdownNote'],
      ['Reroute', RerouteNode, 'utils', 'Reroute'], [PRIMITIVE_TYPE, PrimitiveNode, 'utils', 'Primitive'],
    ] as const) {
      // Registered again by each editor (as the /object_info classes are): the classes call back into their editor.
      LiteGraph.registerNodeType(type, cls);
      cls.title = title;
      (cls as unknown as { category: string }).category = category;
    }
  }

  #listen(): void {
    const canvasEl = this.canvas.canvas;
    // Subgraph definitions in a workflow need a node class under their id before their instances are created.
    const onSubgraph = (e: CustomEvent<{ subgraph: Subgraph }>) => {
      const { subgraph } = e.detail;
      const root = this.graph;
      const editor = this;
      class SubgraphInstance extends SubgraphNode {
        constructor() {
          super(root, subgraph, {
            id: -1, type: subgraph.id, pos: [0, 0], size: [200, 100], inputs: [], outputs: [], flags: {}, order: 0, mode: 0,
          } as unknown as ConstructorParameters<typeof SubgraphNode>[2]);
          // ComfyUI saves the promoted inputs' values in the instance's widgets_values (core reads them there);
          // litegraph's SubgraphNode would leave them out.
          this.serialize_widgets = true;
          // Each configure (load, paste, undo) rebuilds the promoted widgets; the proxied ones follow them.
          this.onConfigure = () => editor.#attachProxyWidgets(this);
        }
      }
      LiteGraph.registerNodeType(subgraph.id, SubgraphInstance as unknown as typeof LGraphNode);
      (SubgraphInstance as unknown as { title: string }).title = subgraph.name;
      (SubgraphInstance as unknown as { category: string }).category = 'subgraph';
      (SubgraphInstance as unknown as { skip_list: boolean }).skip_list = true;
    };
    this.graph.events.addEventListener('subgraph-created', onSubgraph as unknown as EventListener);
    this.#disposers.push(() => this.graph.events.removeEventListener('subgraph-created', onSubgraph as unknown as EventListener));

    // Searching: double-click on empty canvas, or a link released over nothing.
    this.canvas.showSearchBox = (event: MouseEvent) => {
      this.#hooks.onSearch?.({ graphPos: this.toGraphPos(event.clientX, event.clientY), clientPos: [event.clientX, event.clientY] });
      return document.createElement('div');
    };
    const onCanvasEvent = (e: Event) => {
      const detail = (e as CustomEvent<{ subType?: string; originalEvent?: MouseEvent }>).detail;
      if (detail?.subType !== 'empty-release' || !detail.originalEvent) return;
      const link = this.canvas.linkConnector.renderLinks[0];
      if (!link) return;
      const ev = detail.originalEvent;
      const toInput = this.canvas.linkConnector.state.connectingTo === 'input';
      const node = link.node as LGraphNode;
      const slotType = String(link.fromSlot.type);
      const slotIndex = toInput ? node.outputs.indexOf(link.fromSlot as never) : node.inputs.indexOf(link.fromSlot as INodeInputSlot);
      const request: SearchRequest = { graphPos: this.toGraphPos(ev.clientX, ev.clientY), clientPos: [ev.clientX, ev.clientY] };
      if (toInput) request.inputType = slotType;
      else request.outputType = slotType;
      if (slotIndex >= 0) request.pending = { node, slot: slotIndex, direction: toInput ? 'from-output' : 'from-input' };
      this.#hooks.onSearch?.(request);
    };
    canvasEl.addEventListener('litegraph:canvas', onCanvasEvent);
    this.#disposers.push(() => canvasEl.removeEventListener('litegraph:canvas', onCanvasEvent));

    const onPath = () => {
      this.#hideAllTextAreas();
      this.#hooks.onGraphPathChange?.(this.graphPath());
    };
    canvasEl.addEventListener('subgraph-opened', onPath);
    canvasEl.addEventListener('litegraph:set-graph', onPath);
    this.#disposers.push(() => {
      canvasEl.removeEventListener('subgraph-opened', onPath);
      canvasEl.removeEventListener('litegraph:set-graph', onPath);
    });

    // Any structural change (links, adds, removes) is a change for autosave and undo.
    this.graph.onAfterChange = () => this.#changed();
    this.graph.onConnectionChange = () => this.#changed();
    this.canvas.onSelectionChange = (selected) => this.#hooks.onSelectionChange?.(Object.keys(selected ?? {}).length);
    this.canvas.onNodeMoved = () => this.#changed();

    // Text areas not drawn in a frame (scrolled away, removed, another graph) hide.
    const previousRender = this.canvas.onRender;
    this.canvas.onRender = (el, ctx) => {
      previousRender?.(el, ctx);
      this.#sweepTextAreas();
    };
  }

  #sweepTextAreas(): void {
    for (const [widget, entry] of this.#textAreas) {
      if (!entry.seen) {
        entry.el.style.display = 'none';
        if (!entry.node.graph) {
          entry.el.remove();
          this.#textAreas.delete(widget);
        }
      }
      entry.seen = false;
    }
  }

  #hideAllTextAreas(): void {
    for (const entry of this.#textAreas.values()) entry.el.style.display = 'none';
  }

  #leaveSubgraph(): void {
    if (this.canvas.graph && this.canvas.graph !== this.graph) {
      this.canvas.subgraph = undefined;
      this.canvas.setGraph(this.graph);
    }
  }

  #changed(): void {
    if (this.#loading) return;
    this.#hooks.onChange?.();
  }

  /** Every node of the root graph and of every subgraph definition. */
  #allNodes(): LGraphNode[] {
    const nodes: LGraphNode[] = [...this.graph.nodes];
    for (const sub of this.graph.subgraphs.values()) nodes.push(...sub.nodes);
    return nodes;
  }

  /**
   * Maps an execution id to the node to mark. Prompts flatten subgraphs into ids such as `112:31`: on the root graph
   * the subgraph node `112` stands for all its insides; inside a subgraph the inner node `31` is shown.
   */
  #nodeForExecutionId(executionId: string): LGraphNode | null {
    const parts = executionId.split(':');
    const shown = this.canvas.graph ?? this.graph;
    if (shown !== this.graph) {
      const inner = shown.getNodeById(parts[parts.length - 1]!) ?? shown.getNodeById(Number(parts[parts.length - 1]));
      if (inner && parts.length > 1) return inner;
    }
    const first = parts[0]!;
    return this.graph.getNodeById(first) ?? this.graph.getNodeById(Number(first));
  }
}

/** The screen's device pixels per CSS pixel, as litegraph reads it (1 where there is no window). */
function pixelRatio(): number {
  const ratio = globalThis.devicePixelRatio;
  return typeof ratio === 'number' && ratio > 0 && Number.isFinite(ratio) ? ratio : 1;
}

/**
 * The inner widget a proxy names: the node at `ref.nodePath` inside the instance's subgraph (through nested instances
 * for `a:b` paths) and its widget of that name.
 */
function resolveProxied(node: SubgraphNode, ref: ProxyWidgetRef): IBaseWidget | undefined {
  let graph: LGraph | Subgraph = node.subgraph;
  let inner: LGraphNode | null = null;
  for (const [i, id] of ref.nodePath.entries()) {
    inner = graph.getNodeById(id) ?? graph.getNodeById(Number(id));
    if (!inner) return undefined;
    if (i < ref.nodePath.length - 1) {
      if (!(inner instanceof SubgraphNode)) return undefined;
      graph = inner.subgraph;
    }
  }
  return inner?.widgets?.find((w) => w.name === ref.widgetName);
}

function decorOf(node: LGraphNode): NodeDecor {
  const d = node as DecoratedNode;
  return (d[DECOR] ??= { running: false, progress: null, errors: [], images: [], preview: null });
}

function widgetsBottom(node: LGraphNode): number {
  let bottom = 0;
  for (const w of node.widgets ?? []) bottom = Math.max(bottom, (w.last_y ?? w.y ?? 0) + (w.computedHeight ?? LiteGraph.NODE_WIDGET_HEIGHT));
  const slots = Math.max(node.inputs.filter((i) => !i.widget).length, node.outputs.length);
  return Math.max(bottom, slots * LiteGraph.NODE_SLOT_HEIGHT) + 8;
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (const word of para.split(' ')) {
      if ((line + ' ' + word).trim().length > width && line) {
        out.push(line);
        line = word;
      } else line = (line + ' ' + word).trim();
    }
    out.push(line);
  }
  return out;
}

let defaultsSet = false;
function configureLiteGraphDefaults(): void {
  if (defaultsSet) return;
  defaultsSet = true;
  // ComfyUI's canvas habits.
  LiteGraph.release_link_on_empty_shows_menu = false;
  LiteGraph.alt_drag_do_clone_nodes = true;
  LiteGraph.middle_click_slot_add_default_node = true;
  LiteGraph.ctrl_shift_v_paste_connect_unselected_outputs = true;
  LiteGraph.NODE_TEXT_SIZE = 14;
  LiteGraph.catch_exceptions = true;
}

/** Adds the "running" outline to a node's stroke styles. */
export function addRunningStroke(node: LGraphNode): void {
  if (node.strokeStyles['running']) return;
  node.strokeStyles['running'] = function (this: LGraphNode) {
    return (this as DecoratedNode)[DECOR]?.running ? { color: '#0f0', lineWidth: 3, padding: 6 } : undefined;
  };
}

export type { LGraphCanvasState };
