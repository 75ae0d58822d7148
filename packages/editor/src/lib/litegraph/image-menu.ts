/**
 * The image entries of a node's context menu, as ComfyUI offers them on nodes that show a picture: Open Image,
 * Save Image, Copy Image, and Open in MaskEditor on nodes with an image upload widget (LoadImage).
 */
import type { IContextMenuValue, LGraphNode } from '@comfyorg/litegraph';
import { copyImage, openImage, saveImage } from '../image-actions.ts';
import type { NodeImages } from './node-images.ts';
import { existingDecor } from './node-state.ts';
import type { GraphContext } from './types.ts';

export class ImageMenu {
  #context: GraphContext;
  #images: NodeImages;

  constructor(context: GraphContext, images: NodeImages) {
    this.#context = context;
    this.#images = images;
  }

  /** The entries for `node` (none when it shows no picture), for litegraph's `getExtraMenuOptions`. */
  entries(node: LGraphNode): IContextMenuValue[] {
    const decor = existingDecor(node);
    const image = decor?.images[0];
    if (!image?.src) return [];
    const url = image.src;
    const report = (action: string) => (error: unknown) =>
      this.#context.hooks.onNotice?.('error', `${action} failed: ${error instanceof Error ? error.message : String(error)}`);
    const entries: IContextMenuValue[] = [
      { content: 'Open Image', callback: () => openImage(url) },
      { content: 'Save Image', callback: () => void saveImage(url).catch(report('Save Image')) },
      {
        content: 'Copy Image',
        callback: () => void copyImage(url)
          .then(() => this.#context.hooks.onNotice?.('info', 'Image copied to the clipboard'))
          .catch(report('Copy Image')),
      },
    ];
    const widgetName = this.#images.uploadWidgetName(node);
    const widget = widgetName ? node.widgets?.find((w) => w.name === widgetName) : undefined;
    const onMaskEdit = this.#context.hooks.onMaskEdit;
    if (widget && typeof widget.value === 'string' && widget.value && onMaskEdit) {
      const imageName = widget.value;
      entries.push({
        content: 'Open in MaskEditor',
        callback: () => onMaskEdit({
          imageName,
          imageUrl: url,
          commit: (name) => {
            // The node may have been removed while the editor was open.
            if (node.graph) this.#images.setInputImage(node, name);
          },
        }),
      });
    }
    return entries;
  }
}
