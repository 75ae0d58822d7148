/**
 * The minimap: the shown graph's nodes (in their colours) and the viewport's rectangle on a small canvas of its own,
 * redrawn whenever litegraph redraws its front layer (so it follows panning, zooming and node moves at no cost while
 * nothing changes). Pressing or dragging on it centres the view on that point. Attach a canvas to show it, detach
 * to stop drawing.
 */
import { LiteGraph } from '@comfyorg/litegraph';
import type { GraphContext } from './types.ts';

const BACKGROUND = 'rgba(20, 20, 20, 0.85)';
const NODE_COLOR = '#5a5a5a';
const VIEWPORT_FILL = 'rgba(255, 255, 255, 0.08)';
const VIEWPORT_STROKE = '#e0e0e0';
/** Graph units of margin around the nodes. */
const MARGIN = 40;

/** Where the graph sits on the minimap: graph point (x, y) is at ((x - left) * scale + dx, (y - top) * scale + dy). */
interface MapLayout { left: number; top: number; scale: number; dx: number; dy: number }

export class Minimap {
  #context: GraphContext;
  #el: HTMLCanvasElement | null = null;
  #layout: MapLayout | null = null;
  #stop: (() => void) | null = null;
  /** Frames drawn since attached (tests and the benchmark read it). */
  frames = 0;

  constructor(context: GraphContext) {
    this.#context = context;
    const canvas = context.canvas;
    const previous = canvas.onDrawOverlay;
    canvas.onDrawOverlay = (ctx) => {
      previous?.call(canvas, ctx);
      this.draw();
    };
  }

  /** Shows the minimap on `el` (its CSS size is kept; the backing store follows devicePixelRatio). */
  attach(el: HTMLCanvasElement): void {
    this.detach();
    this.#el = el;
    this.frames = 0;
    const onPointer = (e: PointerEvent) => {
      if (e.type === 'pointerdown') el.setPointerCapture(e.pointerId);
      else if (!el.hasPointerCapture(e.pointerId)) return;
      e.preventDefault();
      const rect = el.getBoundingClientRect();
      this.centreOn(e.clientX - rect.left, e.clientY - rect.top);
    };
    el.addEventListener('pointerdown', onPointer);
    el.addEventListener('pointermove', onPointer);
    this.#stop = () => {
      el.removeEventListener('pointerdown', onPointer);
      el.removeEventListener('pointermove', onPointer);
    };
    this.#context.canvas.setDirty(true, false);
  }

  detach(): void {
    this.#stop?.();
    this.#stop = null;
    this.#el = null;
    this.#layout = null;
  }

  /** Centres the main view on the graph point under minimap position (x, y) in CSS pixels. */
  centreOn(x: number, y: number): void {
    const layout = this.#layout;
    if (!layout) return;
    const gx = layout.left + (x - layout.dx) / layout.scale;
    const gy = layout.top + (y - layout.dy) / layout.scale;
    const { ds, canvas } = this.#context.canvas;
    const [width, height] = cssSize(canvas);
    ds.offset[0] = width / 2 / ds.scale - gx;
    ds.offset[1] = height / 2 / ds.scale - gy;
    this.#context.canvas.setDirty(true, true);
  }

  /** Redraws the minimap (called after each front-layer frame while attached). */
  draw(): void {
    const el = this.#el;
    if (!el) return;
    const ctx = el.getContext('2d');
    if (!ctx) return;
    const [width, height] = [el.clientWidth || el.width, el.clientHeight || el.height];
    const ratio = globalThis.devicePixelRatio > 0 ? globalThis.devicePixelRatio : 1;
    if (el.width !== Math.round(width * ratio) || el.height !== Math.round(height * ratio)) {
      el.width = Math.round(width * ratio);
      el.height = Math.round(height * ratio);
    }
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.fillStyle = BACKGROUND;
    ctx.fillRect(0, 0, width, height);
    this.frames++;

    const { canvas } = this.#context;
    const nodes = (canvas.graph ?? this.#context.graph).nodes;
    const title = LiteGraph.NODE_TITLE_HEIGHT;
    let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
    for (const n of nodes) {
      const h = n.flags.collapsed ? 0 : n.size[1];
      x0 = Math.min(x0, n.pos[0]);
      y0 = Math.min(y0, n.pos[1] - title);
      x1 = Math.max(x1, n.pos[0] + n.size[0]);
      y1 = Math.max(y1, n.pos[1] + h);
    }
    if (!nodes.length) {
      this.#layout = null;
      return;
    }
    x0 -= MARGIN;
    y0 -= MARGIN;
    x1 += MARGIN;
    y1 += MARGIN;
    const scale = Math.min(width / (x1 - x0), height / (y1 - y0));
    const layout = { left: x0, top: y0, scale, dx: (width - (x1 - x0) * scale) / 2, dy: (height - (y1 - y0) * scale) / 2 };
    this.#layout = layout;
    for (const n of nodes) {
      const h = (n.flags.collapsed ? 0 : n.size[1]) + title;
      ctx.fillStyle = n.bgcolor || n.color || NODE_COLOR;
      ctx.fillRect(layout.dx + (n.pos[0] - x0) * scale, layout.dy + (n.pos[1] - title - y0) * scale, Math.max(1, n.size[0] * scale), Math.max(1, h * scale));
    }
    // The part of the graph the main canvas shows.
    const { ds } = canvas;
    const [cw, ch] = cssSize(canvas.canvas);
    const vx = layout.dx + (-ds.offset[0] - x0) * scale;
    const vy = layout.dy + (-ds.offset[1] - y0) * scale;
    const vw = (cw / ds.scale) * scale;
    const vh = (ch / ds.scale) * scale;
    ctx.fillStyle = VIEWPORT_FILL;
    ctx.fillRect(vx, vy, vw, vh);
    // A 2 px outline on whole pixels, so its edges stay crisp rather than smeared grey.
    const [left, top, right, bottom] = [Math.round(vx), Math.round(vy), Math.round(vx + vw), Math.round(vy + vh)];
    ctx.strokeStyle = VIEWPORT_STROKE;
    ctx.lineWidth = 2;
    ctx.strokeRect(left + 1, top + 1, right - left - 2, bottom - top - 2);
  }
}

/** A canvas's CSS size (the editor sets it in style; the backing store is larger on high-DPI screens). */
function cssSize(el: HTMLCanvasElement): [number, number] {
  return [parseFloat(el.style.width) || el.width, parseFloat(el.style.height) || el.height];
}
