/**
 * One mask-editing session on a picture, in the browser: reads the picture's pixels (its transparent pixels start
 * painted), turns pointer drags on the view canvas into brush strokes in image pixels, draws the picture with the
 * mask over it, and encodes the mask image the server merges into the original (/upload/mask).
 */
import { MaskPainting, type Brush } from './mask-painting.ts';

/** ComfyUI's mask editor shows the mask in black at this opacity. */
const OVERLAY_COLOR: [number, number, number] = [0, 0, 0];
const OVERLAY_OPACITY = 0.75;

export class MaskEditorSession {
  readonly painting: MaskPainting;
  brush: Brush = { radius: 20, mode: 'paint' };
  /** The picture with its alpha forced opaque, so masked pixels show as the mask colour, not as holes. */
  #opaque: HTMLCanvasElement;
  #overlay: HTMLCanvasElement;
  #last: [number, number] | null = null;

  constructor(image: HTMLImageElement) {
    const width = image.naturalWidth;
    const height = image.naturalHeight;
    this.#opaque = canvasOf(width, height);
    const ctx = this.#opaque.getContext('2d', { willReadFrequently: true })!;
    ctx.drawImage(image, 0, 0);
    const pixels = ctx.getImageData(0, 0, width, height);
    this.painting = MaskPainting.fromPictureAlpha(pixels.data, width, height);
    for (let i = 3; i < pixels.data.length; i += 4) pixels.data[i] = 255;
    ctx.putImageData(pixels, 0, 0);
    this.#overlay = canvasOf(width, height);
    this.#renderOverlay();
  }

  get width(): number {
    return this.painting.width;
  }

  get height(): number {
    return this.painting.height;
  }

  /** A point on the view canvas (client coordinates) in image pixels. */
  toImagePoint(view: HTMLCanvasElement, clientX: number, clientY: number): [number, number] {
    const rect = view.getBoundingClientRect();
    return [((clientX - rect.left) / rect.width) * this.width, ((clientY - rect.top) / rect.height) * this.height];
  }

  begin(point: [number, number]): void {
    this.painting.dab(point[0], point[1], this.brush);
    this.#last = point;
    this.#renderOverlay();
  }

  move(point: [number, number]): void {
    if (!this.#last) return;
    this.painting.stroke(this.#last, point, this.brush);
    this.#last = point;
    this.#renderOverlay();
  }

  end(): void {
    this.#last = null;
  }

  clear(): void {
    this.painting.clear();
    this.#renderOverlay();
  }

  invert(): void {
    this.painting.invert();
    this.#renderOverlay();
  }

  /** Draws the picture and the mask into the view canvas (whose backing store is the image size). */
  draw(view: HTMLCanvasElement): void {
    const ctx = view.getContext('2d')!;
    ctx.clearRect(0, 0, view.width, view.height);
    ctx.drawImage(this.#opaque, 0, 0, view.width, view.height);
    ctx.drawImage(this.#overlay, 0, 0, view.width, view.height);
  }

  /** The mask image to upload, as PNG: black with alpha = 255 - coverage. */
  toMaskPng(): Promise<Blob> {
    const canvas = canvasOf(this.width, this.height);
    canvas.getContext('2d')!.putImageData(new ImageData(this.painting.toMaskImageRgba(), this.width, this.height), 0, 0);
    return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('PNG encoding failed'))), 'image/png'));
  }

  #renderOverlay(): void {
    const rgba = this.painting.toOverlayRgba(OVERLAY_COLOR, OVERLAY_OPACITY);
    this.#overlay.getContext('2d')!.putImageData(new ImageData(rgba, this.width, this.height), 0, 0);
  }
}

function canvasOf(width: number, height: number): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  return canvas;
}
