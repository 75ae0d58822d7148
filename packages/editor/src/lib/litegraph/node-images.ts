/**
 * Images on nodes: LoadImage's input picture (picked with its upload button, chosen in its combo, or dropped on the
 * canvas), output images and live previews, drawn under the node's widgets.
 */
import type { LGraphNode } from '@comfyorg/litegraph';
import { decorOf, existingDecor, planOf, widgetsBottom } from './node-state.ts';
import type { GraphContext } from './types.ts';

export class NodeImages {
  #context: GraphContext;

  constructor(context: GraphContext) {
    this.#context = context;
  }

  /** The name of a node's image upload widget (LoadImage's `image`), if it has one. */
  uploadWidgetName(node: LGraphNode): string | undefined {
    return planOf(node)?.inputs.find((i) => i.widget?.kind === 'combo' && i.widget.imageUpload)?.name;
  }

  /** Sets a node's image upload widget to an uploaded name and shows it; false when the node has none. */
  setInputImage(node: LGraphNode, name: string): boolean {
    const widgetName = this.uploadWidgetName(node);
    const widget = widgetName ? node.widgets?.find((w) => w.name === widgetName) : undefined;
    if (!widget) return false;
    const values = (widget.options as { values: string[] }).values;
    if (!values.includes(name)) values.push(name);
    widget.value = name;
    this.showInputImage(node, name);
    this.#context.changed();
    return true;
  }

  /** The upload button: asks for a file, uploads it through the editor's hook and shows it on the node. */
  pickAndUpload(node: LGraphNode, widgetName: string): void {
    const upload = this.#context.hooks.uploadImage;
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

  /** Shows the input image `name` on the node. */
  showInputImage(node: LGraphNode, name: string): void {
    const url = this.#context.hooks.inputImageUrl;
    if (!name || !url) return;
    decorOf(node).images = [this.load(url(name))];
    this.ensureRoom(node);
  }

  /** An image that redraws the canvas once it has loaded. */
  load(url: string): HTMLImageElement {
    const img = new Image();
    img.onload = () => this.#context.canvas.setDirty(true, false);
    img.src = url;
    return img;
  }

  /** Grows a node so an image has room under its widgets. */
  ensureRoom(node: LGraphNode): void {
    const min = node.computeSize()[1] ?? 60;
    if (node.size[1] < min + 200) node.setSize([Math.max(node.size[0], 256), min + 256]);
    this.#context.canvas.setDirty(true, true);
  }

  /** Draws the node's live preview, else its first image, fitted under its widgets. */
  draw(node: LGraphNode, ctx: CanvasRenderingContext2D): void {
    const decor = existingDecor(node);
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
}

