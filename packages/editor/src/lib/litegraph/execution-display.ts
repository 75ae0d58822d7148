/**
 * What a run shows on the canvas: the running node's outline, per-node progress bars, output images and live
 * previews, and error outlines with their messages under the node. Nodes are found by execution id (`a:b` ids point
 * into subgraph nodes).
 */
import { LiteGraph, type LGraph, type LGraphNode } from '@comfyorg/litegraph';
import type { NodeImages } from './node-images.ts';
import { addRunningStroke, allNodes, decorOf, existingDecor, nodeForExecutionId } from './node-state.ts';
import type { GraphContext } from './types.ts';

export class ExecutionDisplay {
  #context: GraphContext;
  #images: NodeImages;

  constructor(context: GraphContext, images: NodeImages) {
    this.#context = context;
    this.#images = images;
  }

  /** The node an execution id points at in the graph shown now. */
  nodeFor(executionId: string): LGraphNode | null {
    const { graph, canvas } = this.#context;
    return nodeForExecutionId(graph, (canvas.graph ?? graph) as LGraph, executionId);
  }

  /** Outlines the running node and clears the others. */
  setRunningNode(executionId: string | null): void {
    const target = executionId ? this.nodeFor(executionId) : null;
    if (target) addRunningStroke(target);
    for (const node of allNodes(this.#context.graph)) decorOf(node).running = node === target;
    this.#context.canvas.setDirty(true, false);
  }

  /** A node's progress in 0..1, or null to hide its bar. */
  setNodeProgress(executionId: string, fraction: number | null): void {
    const node = this.nodeFor(executionId);
    if (!node) return;
    decorOf(node).progress = fraction;
    this.#context.canvas.setDirty(true, false);
  }

  /** Shows images on a node (SaveImage/PreviewImage outputs, LoadImage's input). */
  setNodeImages(executionId: string, urls: string[]): void {
    const node = this.nodeFor(executionId);
    if (!node) return;
    const decor = decorOf(node);
    decor.preview = null;
    decor.images = urls.map((url) => this.#images.load(url));
    this.#images.ensureRoom(node);
  }

  /** A live sampler preview on a node; replaced by the next one. */
  setNodePreview(executionId: string, url: string | null): void {
    const node = this.nodeFor(executionId);
    if (!node) return;
    decorOf(node).preview = url ? this.#images.load(url) : null;
    // A sampler has no room under its widgets until it shows a picture; grow it as ComfyUI does.
    if (url) this.#images.ensureRoom(node);
    this.#context.canvas.setDirty(true, false);
  }

  /** Outlines the nodes in `errors` in red and writes their messages under them; others are cleared. */
  setNodeErrors(errors: Map<string, string[]>): void {
    const marked = new Set<LGraphNode>();
    for (const [id, messages] of errors) {
      const node = this.nodeFor(id);
      if (!node) continue;
      const decor = decorOf(node);
      // Several inner nodes of one subgraph land on the same node: gather their messages.
      decor.errors = marked.has(node) ? [...decor.errors, ...messages] : [...messages];
      marked.add(node);
      node.has_errors = true;
    }
    for (const node of allNodes(this.#context.graph)) {
      if (marked.has(node)) continue;
      decorOf(node).errors = [];
      // Nodes of unknown types keep the missing-node outline.
      if (node.type in LiteGraph.registered_node_types) node.has_errors = false;
    }
    this.#context.canvas.setDirty(true, true);
  }

  /** Clears running outlines, progress bars and previews (errors stay until the next queue). */
  clear(): void {
    for (const node of allNodes(this.#context.graph)) {
      const d = decorOf(node);
      d.running = false;
      d.progress = null;
      d.preview = null;
    }
    this.#context.canvas.setDirty(true, false);
  }

  /** Draws a node's progress bar and error messages (its foreground). */
  drawForeground(node: LGraphNode, ctx: CanvasRenderingContext2D): void {
    const decor = existingDecor(node);
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
}

/** Breaks text into lines of at most `width` characters at spaces (longer words stay whole). */
export function wrap(text: string, width: number): string[] {
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
