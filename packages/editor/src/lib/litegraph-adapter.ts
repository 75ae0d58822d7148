/**
 * The editor's one face onto @comfyorg/litegraph. litegraph is frozen upstream, so only this file and its parts under
 * `litegraph/` import it; the rest of the editor talks to {@link GraphEditor}: load and serialise workflows, register
 * node classes from /object_info, mark running nodes, progress, previews, outputs and errors, and run canvas commands.
 *
 * The parts, one job each: `node-classes` (node classes and how nodes are built), `node-widgets` (widgets from
 * plans), `text-areas` (multiline text laid over the canvas), `node-images` (pictures on nodes), `primitives`
 * (PrimitiveNode), `subgraph-proxies` (proxy widgets), `execution-display` (what a run shows), `control-after-generate`
 * (seed steps), `canvas-events` (canvas events to hooks), `node-modes` (how muted and bypassed nodes look),
 * `canvas-icons` (icons drawn as paths, not font glyphs), `minimap`, `node-badges` (`#id` badges) and
 * `double-click` (a litegraph timing fix).
 */
import {
  LGraph,
  LGraphCanvas,
  LGraphGroup,
  LGraphNode,
  LiteGraph,
  SubgraphNode,
  type Subgraph,
} from '@comfyorg/litegraph';
import '@comfyorg/litegraph/style.css';
import type { ObjectInfo } from './object-info.ts';
import { listenToCanvas } from './litegraph/canvas-events.ts';
import { installCanvasIcons } from './litegraph/canvas-icons.ts';
import { applyControlAfterGenerate } from './litegraph/control-after-generate.ts';
import { acceptTimestampTies } from './litegraph/double-click.ts';
import { ExecutionDisplay } from './litegraph/execution-display.ts';
import { ImageMenu } from './litegraph/image-menu.ts';
import { NodeClasses } from './litegraph/node-classes.ts';
import { NodeImages } from './litegraph/node-images.ts';
import { Minimap } from './litegraph/minimap.ts';
import { setNodeIdBadges } from './litegraph/node-badges.ts';
import { drawNodeModes } from './litegraph/node-modes.ts';
import { allNodes } from './litegraph/node-state.ts';
import { NodeWidgets } from './litegraph/node-widgets.ts';
import { Primitives } from './litegraph/primitives.ts';
import { SubgraphProxies } from './litegraph/subgraph-proxies.ts';
import { TextAreas } from './litegraph/text-areas.ts';
import type { GraphContext, GraphEditorHooks, PendingLink, UiWorkflow } from './litegraph/types.ts';

export type { GraphEditorHooks, MaskEditRequest, PendingLink, RenameRequest, SearchRequest, UiWorkflow } from './litegraph/types.ts';

/** The editor's canvas: a litegraph graph and canvas plus our behaviour on top. */
export class GraphEditor {
  readonly graph: LGraph;
  readonly canvas: LGraphCanvas;
  #context: GraphContext;
  #textAreas: TextAreas;
  #images: NodeImages;
  #execution: ExecutionDisplay;
  #primitives: Primitives;
  #proxies: SubgraphProxies;
  #classes: NodeClasses;
  #stopListening: () => void;
  /** The minimap part: `attach` a canvas to show it, `detach` to hide it. */
  readonly minimap: Minimap;

  constructor(canvasEl: HTMLCanvasElement, hooks: GraphEditorHooks = {}, overlay?: HTMLElement) {
    configureLiteGraphDefaults();
    this.graph = new LGraph();
    this.canvas = new LGraphCanvas(canvasEl, this.graph);
    acceptTimestampTies(this.canvas.pointer);
    drawNodeModes(this.canvas);
    // litegraph outlines a canvas-sized rectangle at the graph origin, a dark box even on an empty graph.
    this.canvas.render_canvas_border = false;
    this.canvas.allow_searchbox = true;
    this.canvas.show_info = false;
    // Node shadows cost about a quarter of a frame with hundreds of nodes on screen.
    this.canvas.render_shadows = false;
    const context: GraphContext = {
      graph: this.graph,
      canvas: this.canvas,
      hooks,
      loading: false,
      changed() {
        if (!this.loading) hooks.onChange?.();
      },
    };
    this.#context = context;
    this.#textAreas = new TextAreas(context, overlay ?? null);
    this.minimap = new Minimap(context);
    this.#images = new NodeImages(context);
    this.#execution = new ExecutionDisplay(context, this.#images);
    const widgets = new NodeWidgets(context, this.#textAreas, this.#images);
    this.#primitives = new Primitives(context, widgets, this.#textAreas);
    this.#proxies = new SubgraphProxies(context, this.#textAreas);
    this.#classes = new NodeClasses(context, {
      widgets, images: this.#images, imageMenu: new ImageMenu(context, this.#images), textAreas: this.#textAreas, execution: this.#execution,
      primitives: this.#primitives, proxies: this.#proxies,
    });
    this.#classes.registerFrontendNodes();
    this.#stopListening = listenToCanvas(context, {
      classes: this.#classes,
      textAreas: this.#textAreas,
      toGraphPos: (x, y) => this.toGraphPos(x, y),
      graphPath: () => this.graphPath(),
    });
  }

  /** Registers one litegraph class per /object_info entry (again for classes already registered: combos change). */
  registerNodeTypes(info: ObjectInfo): void {
    this.#classes.register(info);
  }

  /** True when a node class is known (from /object_info or the front end's own). */
  hasNodeType(type: string): boolean {
    return type in LiteGraph.registered_node_types;
  }

  /** Gives combo widgets on existing nodes the refreshed lists (models, input images). */
  refreshCombos(info: ObjectInfo): void {
    this.#classes.refreshCombos(info);
  }

  /**
   * Replaces the graph with a workflow. Nodes of the `missing` types (core's `findMissingNodeTypes`) still load and are
   * drawn with an error outline.
   */
  load(workflow: UiWorkflow, missing: readonly string[] = []): void {
    this.#leaveSubgraph();
    this.#textAreas.clear();
    this.#context.loading = true;
    try {
      this.graph.configure(structuredClone(workflow));
      this.#primitives.settle();
      this.#proxies.settle();
    } finally {
      this.#context.loading = false;
    }
    for (const node of allNodes(this.graph)) if (missing.includes(node.type)) node.has_errors = true;
    const ds = (workflow.extra as { ds?: { scale: number; offset: [number, number] } } | undefined)?.ds;
    if (ds && Number.isFinite(ds.scale)) {
      this.canvas.ds.scale = ds.scale;
      this.canvas.ds.offset[0] = ds.offset[0];
      this.canvas.ds.offset[1] = ds.offset[1];
    }
    this.#context.hooks.onGraphPathChange?.(this.graphPath());
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
    this.#textAreas.clear();
    this.graph.clear();
    this.canvas.setDirty(true, true);
    this.#context.changed();
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

  /** Shows or hides `#id` badges over node titles (litegraph/node-badges.ts). */
  setNodeIdBadges(on: boolean): void {
    setNodeIdBadges(on);
    this.canvas.setDirty(true, false);
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
    this.#context.changed();
    return node;
  }

  /** The page position of the canvas's centre (where a node added without a position goes). */
  viewCentre(): [number, number] {
    const rect = this.canvas.canvas.getBoundingClientRect();
    return [rect.left + rect.width / 2, rect.top + rect.height / 2];
  }

  /** `pos`, or the first point 30 units down and right from it (repeatedly) where no node of the shown graph starts. */
  freeSpot(pos: [number, number]): [number, number] {
    const nodes = (this.canvas.graph ?? this.graph).nodes;
    const taken = (p: [number, number]) => nodes.some((n) => Math.abs(n.pos[0] - p[0]) < 10 && Math.abs(n.pos[1] - p[1]) < 10);
    const spot: [number, number] = [pos[0], pos[1]];
    for (let i = 0; i < nodes.length && taken(spot); i++) {
      spot[0] += 30;
      spot[1] += 30;
    }
    return spot;
  }

  /**
   * Sets a node's widget by name as an edit on the canvas would (its callback runs, so linked primitives and proxies
   * follow); false when the node has no such widget or a combo does not list the value.
   */
  setWidgetValue(node: LGraphNode, name: string, value: unknown): boolean {
    const widget = node.widgets?.find((w) => w.name === name);
    if (!widget) return false;
    const values = (widget.options as { values?: unknown } | undefined)?.values;
    if (widget.type === 'combo' && Array.isArray(values) && !values.includes(value)) return false;
    widget.value = value as never;
    widget.callback?.(widget.value, this.canvas, node, [0, 0]);
    this.canvas.setDirty(true, false);
    this.#context.changed();
    return true;
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
    const target = under && this.#images.uploadWidgetName(under) ? under : this.addNode('LoadImage', pos);
    if (!target || !this.setInputImage(target, name)) return null;
    return target;
  }

  /** Sets a node's image upload widget (LoadImage's `image`) to an uploaded name and shows it; false without one. */
  setInputImage(node: LGraphNode, name: string): boolean {
    return this.#images.setInputImage(node, name);
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
    this.#context.changed();
  }

  /** Ctrl+M and Ctrl+B: toggles mode 2 (never, muted) or 4 (bypass) on the selected nodes. */
  toggleSelectedMode(mode: 2 | 4): number {
    const nodes = Object.values(this.canvas.selected_nodes);
    if (!nodes.length) return 0;
    const allSet = nodes.every((n) => n.mode === mode);
    for (const n of nodes) n.mode = allSet ? 0 : mode;
    this.canvas.setDirty(true, true);
    this.#context.changed();
    return nodes.length;
  }

  /** Alt+C: collapses the selected nodes, or expands them when all are collapsed. */
  toggleSelectedCollapsed(): number {
    const nodes = Object.values(this.canvas.selected_nodes);
    const collapse = !nodes.every((n) => n.flags.collapsed);
    for (const n of nodes) if (!!n.flags.collapsed !== collapse) n.collapse();
    this.canvas.setDirty(true, true);
    if (nodes.length) this.#context.changed();
    return nodes.length;
  }

  /** P: pins the selected nodes (they no longer move or resize), or unpins them when all are pinned. */
  toggleSelectedPinned(): number {
    const nodes = Object.values(this.canvas.selected_nodes);
    const pin = !nodes.every((n) => n.pinned);
    for (const n of nodes) n.pin(pin);
    this.canvas.setDirty(true, true);
    if (nodes.length) this.#context.changed();
    return nodes.length;
  }

  /** How links are drawn: litegraph's link render types (2 spline, 1 linear, 0 straight, -1 hidden), as ComfyUI's setting. */
  setLinkRenderMode(mode: number): void {
    this.canvas.links_render_mode = mode;
    this.canvas.setDirty(true, true);
  }

  /** Snapping of moved nodes: always (else only with Shift held) to a grid of `size`, as ComfyUI's settings set it. */
  setSnapToGrid(always: boolean, size: number): void {
    LiteGraph.alwaysSnapToGrid = always;
    LiteGraph.CANVAS_GRID_SIZE = size;
  }

  /** Zooms by `factor` around the canvas's centre (Alt+= / Alt+-), within litegraph's scale limits. */
  zoomBy(factor: number): void {
    const el = this.canvas.canvas;
    const centre: [number, number] = [parseFloat(el.style.width) / 2 || el.width / 2, parseFloat(el.style.height) / 2 || el.height / 2];
    this.canvas.ds.changeScale(this.canvas.ds.scale * factor, centre);
    this.canvas.setDirty(true, true);
  }

  deleteSelected(): void {
    this.canvas.deleteSelected();
    this.#context.changed();
  }

  copySelected(): void {
    this.canvas.copyToClipboard();
  }

  paste(): void {
    this.canvas.pasteFromClipboard();
    this.#context.changed();
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
    this.#context.changed();
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
    this.#context.hooks.onGraphPathChange?.(this.graphPath());
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

  /**
   * Moves every widget with a `control_after_generate` on by its mode, as ComfyUI does after each queue: seeds and
   * other numbers step or randomise, combos step through (or pick from) their list filtered by `control_filter_list`.
   * Widgets fed by a link stay; primitives push their new value to the widgets they feed.
   */
  applyControlAfterGenerate(random: () => number = Math.random): void {
    for (const primitive of applyControlAfterGenerate(this.graph, random)) this.#primitives.push(primitive);
    this.canvas.setDirty(true, false);
    this.#context.changed();
  }

  // ---- execution display: see litegraph/execution-display.ts ----------------------------------------------------

  /** Outlines the running node (by execution id; `a:b` ids point into subgraph nodes) and clears the others. */
  setRunningNode(executionId: string | null): void {
    this.#execution.setRunningNode(executionId);
  }

  /** A node's progress in 0..1, or null to hide its bar. */
  setNodeProgress(executionId: string, fraction: number | null): void {
    this.#execution.setNodeProgress(executionId, fraction);
  }

  /** Shows images on a node (SaveImage/PreviewImage outputs, LoadImage's input). */
  setNodeImages(executionId: string, urls: string[]): void {
    this.#execution.setNodeImages(executionId, urls);
  }

  /** A live sampler preview on a node; replaced by the next one. */
  setNodePreview(executionId: string, url: string | null): void {
    this.#execution.setNodePreview(executionId, url);
  }

  /** Outlines the nodes in `errors` in red and writes their messages under them; others are cleared. */
  setNodeErrors(errors: Map<string, string[]>): void {
    this.#execution.setNodeErrors(errors);
  }

  /** Clears running outlines and progress bars (errors stay until the next queue). */
  clearExecution(): void {
    this.#execution.clear();
  }

  /** The display title of a node by execution id, for panels and messages. */
  nodeTitle(executionId: string): string | undefined {
    return this.#execution.nodeFor(executionId)?.title;
  }

  /** Selects and centres a node. */
  focusNode(executionId: string): void {
    const node = this.#execution.nodeFor(executionId);
    if (!node) return;
    this.canvas.selectNode(node);
    this.canvas.centerOnNode(node);
  }

  /** Node counts for the status bar and tests. */
  stats(): { nodes: number; links: number; groups: number; subgraphs: number } {
    return { nodes: this.graph.nodes.length, links: this.graph._links.size, groups: this.graph.groups.length, subgraphs: this.graph.subgraphs.size };
  }

  destroy(): void {
    this.#stopListening();
    this.#textAreas.clear();
    this.canvas.stopRendering();
    this.canvas.unbindEvents();
  }

  #leaveSubgraph(): void {
    if (this.canvas.graph && this.canvas.graph !== this.graph) {
      this.canvas.subgraph = undefined;
      this.canvas.setGraph(this.graph);
    }
  }
}

/** The screen's device pixels per CSS pixel, as litegraph reads it (1 where there is no window). */
function pixelRatio(): number {
  const ratio = globalThis.devicePixelRatio;
  return typeof ratio === 'number' && ratio > 0 && Number.isFinite(ratio) ? ratio : 1;
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
  installCanvasIcons();
}
