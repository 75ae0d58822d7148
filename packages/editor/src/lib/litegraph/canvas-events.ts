/**
 * The canvas's events, turned into the editor's hooks: subgraph definitions appearing (their node class), searches
 * (double-click on empty canvas, a link released over nothing), entering and leaving subgraphs, selection, and every
 * structural change (links, adds, removes, moves) reported once for autosave and undo. Returns its disposer.
 */
import { LiteGraph, type INodeInputSlot, type LGraphGroup, type LGraphNode, type Subgraph } from '@comfyorg/litegraph';
import type { NodeClasses } from './node-classes.ts';
import type { TextAreas } from './text-areas.ts';
import type { GraphContext, RenameRequest, SearchRequest } from './types.ts';

export interface CanvasEventParts {
  classes: NodeClasses;
  textAreas: TextAreas;
  /** Graph coordinates of a page position. */
  toGraphPos(clientX: number, clientY: number): [number, number];
  /** The names of the graphs from the root to the one shown. */
  graphPath(): string[];
}

export function listenToCanvas(context: GraphContext, parts: CanvasEventParts): () => void {
  const { graph, canvas, hooks } = context;
  const canvasEl = canvas.canvas;
  const disposers: (() => void)[] = [];

  const onSubgraph = (e: CustomEvent<{ subgraph: Subgraph }>) => parts.classes.registerSubgraph(e.detail.subgraph);
  graph.events.addEventListener('subgraph-created', onSubgraph as unknown as EventListener);
  disposers.push(() => graph.events.removeEventListener('subgraph-created', onSubgraph as unknown as EventListener));

  // Searching: double-click on empty canvas, or a link released over nothing.
  canvas.showSearchBox = (event: MouseEvent) => {
    hooks.onSearch?.({ graphPos: parts.toGraphPos(event.clientX, event.clientY), clientPos: [event.clientX, event.clientY] });
    return document.createElement('div');
  };
  const onCanvasEvent = (e: Event) => {
    const detail = (e as CustomEvent<{ subType?: string; originalEvent?: MouseEvent; node?: LGraphNode; group?: LGraphGroup }>).detail;
    if (detail?.subType === 'node-double-click' || detail?.subType === 'group-double-click') {
      const request = detail.originalEvent && renameRequest(context, detail.originalEvent, detail.node ?? detail.group);
      if (request) hooks.onRename?.(request);
      return;
    }
    if (detail?.subType !== 'empty-release' || !detail.originalEvent) return;
    const link = canvas.linkConnector.renderLinks[0];
    if (!link) return;
    const ev = detail.originalEvent;
    const toInput = canvas.linkConnector.state.connectingTo === 'input';
    const node = link.node as LGraphNode;
    const slotType = String(link.fromSlot.type);
    const slotIndex = toInput ? node.outputs.indexOf(link.fromSlot as never) : node.inputs.indexOf(link.fromSlot as INodeInputSlot);
    const request: SearchRequest = { graphPos: parts.toGraphPos(ev.clientX, ev.clientY), clientPos: [ev.clientX, ev.clientY] };
    if (toInput) request.inputType = slotType;
    else request.outputType = slotType;
    if (slotIndex >= 0) request.pending = { node, slot: slotIndex, direction: toInput ? 'from-output' : 'from-input' };
    hooks.onSearch?.(request);
  };
  canvasEl.addEventListener('litegraph:canvas', onCanvasEvent);
  disposers.push(() => canvasEl.removeEventListener('litegraph:canvas', onCanvasEvent));

  const onPath = () => {
    parts.textAreas.hideAll();
    hooks.onGraphPathChange?.(parts.graphPath());
  };
  canvasEl.addEventListener('subgraph-opened', onPath);
  canvasEl.addEventListener('litegraph:set-graph', onPath);
  disposers.push(() => {
    canvasEl.removeEventListener('subgraph-opened', onPath);
    canvasEl.removeEventListener('litegraph:set-graph', onPath);
  });

  // Any structural change (links, adds, removes) is a change for autosave and undo.
  graph.onAfterChange = () => context.changed();
  graph.onConnectionChange = () => context.changed();
  canvas.onSelectionChange = (selected) => hooks.onSelectionChange?.(Object.keys(selected ?? {}).length);
  canvas.onNodeMoved = () => context.changed();

  // Text areas not drawn in a frame (scrolled away, removed, another graph) hide.
  const previousRender = canvas.onRender;
  canvas.onRender = (el, ctx) => {
    previousRender?.(el, ctx);
    parts.textAreas.sweep();
  };
  return () => {
    for (const dispose of disposers) dispose();
  };
}

/**
 * The rename a double-click asks for when it landed on the title bar of `item` (a node or a group), else null.
 * `event` carries litegraph's graph-space position (`canvasX`/`canvasY`).
 */
function renameRequest(context: GraphContext, event: MouseEvent, item: LGraphNode | LGraphGroup | undefined): RenameRequest | null {
  if (!item) return null;
  const { canvasX, canvasY } = event as MouseEvent & { canvasX: number; canvasY: number };
  const isGroup = !('inputs' in item);
  const titleHeight = isGroup ? (item as LGraphGroup).titleHeight : LiteGraph.NODE_TITLE_HEIGHT;
  const top = isGroup ? item.pos[1] : item.pos[1] - titleHeight;
  const width = isGroup ? item.size[0] : (item as LGraphNode).flags.collapsed ? ((item as LGraphNode)._collapsed_width ?? item.size[0]) : item.size[0];
  if (canvasY < top || canvasY > top + titleHeight || canvasX < item.pos[0] || canvasX > item.pos[0] + width) return null;
  const { canvas } = context;
  const el = canvas.canvas.getBoundingClientRect();
  const corner = canvas.ds.convertOffsetToCanvas([item.pos[0], top]);
  const scale = canvas.ds.scale;
  return {
    kind: isGroup ? 'group' : 'node',
    title: item.title,
    rect: { left: el.left + (corner[0] ?? 0), top: el.top + (corner[1] ?? 0), width: Math.max(80, width * scale), height: titleHeight * scale },
    commit(title: string) {
      const next = title.trim();
      if (!next || next === item.title) return;
      item.title = next;
      canvas.setDirty(true, true);
      context.changed();
    },
  };
}
