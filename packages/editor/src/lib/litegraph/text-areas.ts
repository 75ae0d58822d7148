/**
 * Multiline STRING widgets: a tall widget on the canvas with a real textarea laid over it while it is on screen, as
 * ComfyUI's prompt boxes are. Text areas that were not drawn in a frame (scrolled away, collapsed, another graph)
 * hide; those whose node left the graph are removed.
 */
import type { LGraphNode } from '@comfyorg/litegraph';
import type { IBaseWidget } from '@comfyorg/litegraph/dist/types/widgets';
import type { GraphContext } from './types.ts';

interface TextArea {
  el: HTMLTextAreaElement;
  node: LGraphNode;
  /** Drawn since the last sweep. */
  seen: boolean;
}

export class TextAreas {
  #context: GraphContext;
  #overlay: HTMLElement | null;
  #areas = new Map<IBaseWidget, TextArea>();

  constructor(context: GraphContext, overlay: HTMLElement | null) {
    this.#context = context;
    this.#overlay = overlay;
  }

  /** Adds a multiline text widget to `node`; `onValue` runs on each edit before the change is reported. */
  add(node: LGraphNode, name: string, value: string, placeholder?: string, onValue?: () => void): IBaseWidget {
    const areas = this;
    const context = this.#context;
    const widget: IBaseWidget = {
      name, type: 'customtext', value, y: 0, options: { multiline: true }, serialize: true,
      computeLayoutSize: () => ({ minHeight: 60, minWidth: 200, maxHeight: 1e6 }),
      draw(ctx: CanvasRenderingContext2D, n: LGraphNode, width: number, y: number) {
        const height = (this.computedHeight ?? 60) - 4;
        ctx.fillStyle = '#1b1b1b';
        ctx.fillRect(10, y, width - 20, height);
        const area = areas.#areaFor(this, n, placeholder);
        if (!area || context.canvas.low_quality || n.getSlotFromWidget(this)?.link != null || n.flags.collapsed) {
          if (area) area.el.style.display = 'none';
          ctx.fillStyle = '#999';
          ctx.font = '12px sans-serif';
          ctx.fillText(String(this.value ?? '').slice(0, Math.max(0, Math.floor((width - 30) / 7))), 15, y + 16);
          return;
        }
        area.seen = true;
        areas.#place(area.el, n, y, width, height);
      },
      callback: () => {
        onValue?.();
        context.changed();
      },
    };
    return node.addCustomWidget(widget);
  }

  /** Removes the text area of a widget that is going away. */
  remove(widget: IBaseWidget): void {
    this.#areas.get(widget)?.el.remove();
    this.#areas.delete(widget);
  }

  /** After each frame: hides the areas not drawn in it and drops those whose node left the graph. */
  sweep(): void {
    for (const [widget, entry] of this.#areas) {
      if (!entry.seen) {
        entry.el.style.display = 'none';
        if (!entry.node.graph) {
          entry.el.remove();
          this.#areas.delete(widget);
        }
      }
      entry.seen = false;
    }
  }

  /** Hides every area (another graph is about to be shown). */
  hideAll(): void {
    for (const entry of this.#areas.values()) entry.el.style.display = 'none';
  }

  /** Removes every area (the graph is replaced). */
  clear(): void {
    for (const { el } of this.#areas.values()) el.remove();
    this.#areas.clear();
  }

  #areaFor(widget: IBaseWidget, node: LGraphNode, placeholder?: string): TextArea | undefined {
    if (!this.#overlay) return undefined;
    let entry = this.#areas.get(widget);
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
      this.#areas.set(widget, entry);
    }
    if (document.activeElement !== entry.el && entry.el.value !== String(widget.value ?? '')) entry.el.value = String(widget.value ?? '');
    return entry;
  }

  #place(el: HTMLTextAreaElement, node: LGraphNode, y: number, width: number, height: number): void {
    const { scale, offset } = this.#context.canvas.ds;
    const left = (node.pos[0] + 10 + offset[0]) * scale;
    const top = (node.pos[1] + y + offset[1]) * scale;
    el.style.display = 'block';
    el.style.left = `${left}px`;
    el.style.top = `${top}px`;
    el.style.width = `${width - 20}px`;
    el.style.height = `${height}px`;
    el.style.transform = `scale(${scale})`;
  }
}
