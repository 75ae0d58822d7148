/**
 * Multiline STRING widgets: a tall widget on the canvas with a real textarea laid over it while it is on screen, as
 * ComfyUI's prompt boxes are. Text areas that were not drawn in a frame (scrolled away, collapsed, another graph)
 * hide; those whose node left the graph are removed. A widget added with a `render` function (MarkdownNote) shows
 * its text rendered instead, and the textarea only while it is being edited (double-click to edit, leave to render).
 */
import type { LGraphNode } from '@comfyorg/litegraph';
import type { IBaseWidget } from '@comfyorg/litegraph/dist/types/widgets';
import type { GraphContext } from './types.ts';

interface TextArea {
  el: HTMLTextAreaElement;
  /** The rendered text (widgets with a `render` function), shown while not editing. */
  view: HTMLDivElement | null;
  render?: (text: string) => string;
  editing: boolean;
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

  /**
   * Adds a multiline text widget to `node`; `onValue` runs on each edit before the change is reported. With `render`
   * (text to safe HTML) the text shows rendered until double-clicked.
   */
  add(node: LGraphNode, name: string, value: string, placeholder?: string, onValue?: () => void, render?: (text: string) => string): IBaseWidget {
    const areas = this;
    const context = this.#context;
    const widget: IBaseWidget = {
      name, type: 'customtext', value, y: 0, options: { multiline: true }, serialize: true,
      computeLayoutSize: () => ({ minHeight: 60, minWidth: 200, maxHeight: 1e6 }),
      draw(ctx: CanvasRenderingContext2D, n: LGraphNode, width: number, y: number) {
        const height = (this.computedHeight ?? 60) - 4;
        ctx.fillStyle = '#1b1b1b';
        ctx.fillRect(10, y, width - 20, height);
        const area = areas.#areaFor(this, n, placeholder, render);
        if (!area || context.canvas.low_quality || n.getSlotFromWidget(this)?.link != null || n.flags.collapsed) {
          if (area) hide(area);
          ctx.fillStyle = '#999';
          ctx.font = '12px sans-serif';
          ctx.fillText(String(this.value ?? '').slice(0, Math.max(0, Math.floor((width - 30) / 7))), 15, y + 16);
          return;
        }
        area.seen = true;
        const shown = area.view && !area.editing ? area.view : area.el;
        (shown === area.el ? area.view : area.el)?.style.setProperty('display', 'none');
        areas.#place(shown, n, y, width, height);
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
    const entry = this.#areas.get(widget);
    entry?.el.remove();
    entry?.view?.remove();
    this.#areas.delete(widget);
  }

  /** After each frame: hides the areas not drawn in it and drops those whose node left the graph. */
  sweep(): void {
    for (const [widget, entry] of this.#areas) {
      if (!entry.seen) {
        hide(entry);
        if (!entry.node.graph) {
          entry.el.remove();
          entry.view?.remove();
          this.#areas.delete(widget);
        }
      }
      entry.seen = false;
    }
  }

  /** Hides every area (another graph is about to be shown). */
  hideAll(): void {
    for (const entry of this.#areas.values()) hide(entry);
  }

  /** Removes every area (the graph is replaced). */
  clear(): void {
    for (const { el, view } of this.#areas.values()) {
      el.remove();
      view?.remove();
    }
    this.#areas.clear();
  }

  #areaFor(widget: IBaseWidget, node: LGraphNode, placeholder?: string, render?: (text: string) => string): TextArea | undefined {
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
      const area: TextArea = { el, view: null, editing: false, node, seen: true };
      if (render) {
        const view = document.createElement('div');
        view.className = 'lg-markdown';
        view.title = 'Double-click to edit';
        view.addEventListener('dblclick', () => {
          area.editing = true;
          this.#context.canvas.setDirty(true, false);
          // Shown by the next frame's draw; focus once it is laid out.
          requestAnimationFrame(() => el.focus());
        });
        el.addEventListener('blur', () => {
          area.editing = false;
          view.innerHTML = render(el.value);
          this.#context.canvas.setDirty(true, false);
        });
        view.innerHTML = render(el.value);
        this.#overlay.appendChild(view);
        area.view = view;
        area.render = render;
      }
      entry = area;
      this.#areas.set(widget, entry);
    }
    const text = String(widget.value ?? '');
    if (document.activeElement !== entry.el && entry.el.value !== text) {
      entry.el.value = text;
      if (entry.view && entry.render) entry.view.innerHTML = entry.render(text);
    }
    return entry;
  }

  #place(el: HTMLElement, node: LGraphNode, y: number, width: number, height: number): void {
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

function hide(area: TextArea): void {
  area.el.style.display = 'none';
  if (area.view) area.view.style.display = 'none';
}
