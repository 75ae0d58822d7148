/**
 * The mask editor's model, without the DOM: a painted coverage per pixel (0 = untouched, 255 = fully masked), brush
 * strokes that paint or erase round dabs along a path, and the conversions ComfyUI's convention needs. LoadImage
 * reads its MASK as 1 - alpha, so the mask image uploaded to /upload/mask carries alpha = 255 - coverage: painted
 * pixels become transparent in the stored picture, and an already masked picture opens with its transparent pixels
 * painted.
 */

export type BrushMode = 'paint' | 'erase';

export interface Brush {
  /** Radius in image pixels. */
  radius: number;
  mode: BrushMode;
}

export class MaskPainting {
  readonly width: number;
  readonly height: number;
  /** [height, width] coverage, row-major. */
  readonly coverage: Uint8ClampedArray;

  constructor(width: number, height: number) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw new RangeError(`a mask needs a positive integer size, got ${width}x${height}`);
    }
    this.width = width;
    this.height = height;
    this.coverage = new Uint8ClampedArray(width * height);
  }

  /** A painting whose coverage is the picture's transparency (`rgba` is [height, width, 4] bytes). */
  static fromPictureAlpha(rgba: Uint8ClampedArray | Uint8Array, width: number, height: number): MaskPainting {
    if (rgba.length !== width * height * 4) throw new RangeError(`expected ${width * height * 4} RGBA bytes, got ${rgba.length}`);
    const painting = new MaskPainting(width, height);
    for (let i = 0; i < width * height; i++) painting.coverage[i] = 255 - rgba[i * 4 + 3]!;
    return painting;
  }

  /** One round dab centred at (x, y), in image pixels. */
  dab(x: number, y: number, brush: Brush): void {
    const r = Math.max(0.5, brush.radius);
    const value = brush.mode === 'paint' ? 255 : 0;
    const x0 = Math.max(0, Math.floor(x - r));
    const x1 = Math.min(this.width - 1, Math.ceil(x + r));
    const y0 = Math.max(0, Math.floor(y - r));
    const y1 = Math.min(this.height - 1, Math.ceil(y + r));
    const r2 = r * r;
    for (let py = y0; py <= y1; py++) {
      const dy = py + 0.5 - y;
      for (let px = x0; px <= x1; px++) {
        const dx = px + 0.5 - x;
        if (dx * dx + dy * dy <= r2) this.coverage[py * this.width + px] = value;
      }
    }
  }

  /** Dabs from `from` to `to`, spaced at a quarter of the radius so a fast drag leaves a continuous line. */
  stroke(from: [number, number], to: [number, number], brush: Brush): void {
    const length = Math.hypot(to[0] - from[0], to[1] - from[1]);
    const spacing = Math.max(0.5, brush.radius / 4);
    const count = Math.max(1, Math.ceil(length / spacing));
    for (let i = 0; i <= count; i++) {
      const t = i / count;
      this.dab(from[0] + (to[0] - from[0]) * t, from[1] + (to[1] - from[1]) * t, brush);
    }
  }

  clear(): void {
    this.coverage.fill(0);
  }

  invert(): void {
    for (let i = 0; i < this.coverage.length; i++) this.coverage[i] = 255 - this.coverage[i]!;
  }

  /** How many pixels are masked at all (coverage above zero). */
  maskedPixelCount(): number {
    let n = 0;
    for (const c of this.coverage) if (c > 0) n++;
    return n;
  }

  /** The image to upload: black, with alpha = 255 - coverage ([height, width, 4] bytes). */
  toMaskImageRgba(): Uint8ClampedArray<ArrayBuffer> {
    const out = new Uint8ClampedArray(this.width * this.height * 4);
    for (let i = 0; i < this.coverage.length; i++) out[i * 4 + 3] = 255 - this.coverage[i]!;
    return out;
  }

  /** The overlay drawn over the picture while editing: `color` at `opacity` where painted ([height, width, 4]). */
  toOverlayRgba(color: [number, number, number], opacity: number): Uint8ClampedArray<ArrayBuffer> {
    const out = new Uint8ClampedArray(this.width * this.height * 4);
    for (let i = 0; i < this.coverage.length; i++) {
      out[i * 4] = color[0];
      out[i * 4 + 1] = color[1];
      out[i * 4 + 2] = color[2];
      out[i * 4 + 3] = Math.round(this.coverage[i]! * opacity);
    }
    return out;
  }
}

/** ComfyUI's annotated input names (`clipspace/a.png [input]`) as the reference /upload/mask's `original_ref` wants. */
export function imageRefOfInputName(name: string): { filename: string; subfolder: string; type: 'input' | 'output' | 'temp' } {
  const annotated = /^(.*) \[(input|output|temp)\]$/.exec(name);
  const path = annotated ? annotated[1]! : name;
  const type = annotated ? (annotated[2] as 'input' | 'output' | 'temp') : 'input';
  const slash = path.lastIndexOf('/');
  return { filename: path.slice(slash + 1), subfolder: slash >= 0 ? path.slice(0, slash) : '', type };
}
