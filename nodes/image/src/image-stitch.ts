/**
 * ImageStitch (ComfyUI comfy_extras/nodes_images.py): joins image2 to image1 on one side, with ComfyUI's rules:
 * the shorter batch repeats its last image; with match_image_size image2 is scaled (lanczos) to image1's height
 * (left/right) or width (up/down), else the smaller image is padded centred with the spacing colour's grey value
 * (0 for red/green/blue); a missing channel is filled with ones; an even-width spacer strip of the colour goes
 * between them (alpha 1 for 4 channels).
 */

import { Tensor } from '@uso-studio/runtime';
import { defineNode } from '@uso-studio/core';
import { upscaleImage } from './image-scale.ts';
import { expectImage } from './tensor-io.ts';

type Direction = 'right' | 'down' | 'left' | 'up';
const SPACING_COLORS: Readonly<Record<string, number | readonly [number, number, number]>> = {
  white: 1,
  black: 0,
  red: [1, 0, 0],
  green: [0, 1, 0],
  blue: [0, 0, 1],
};

type Dims = [number, number, number, number];
const dims = (t: Tensor<'float32'>) => t.shape as unknown as Dims;

/** The batch made `batch` long by repeating its last image. */
function repeatLast(image: Tensor<'float32'>, batch: number): Tensor<'float32'> {
  const [b, h, w, c] = dims(image);
  if (b >= batch) return image;
  const per = h * w * c;
  const out = new Float32Array(batch * per); // [batch, H, W, C]
  out.set(image.data);
  for (let n = b; n < batch; n++) out.set(image.data.subarray((b - 1) * per, b * per), n * per);
  return Tensor.float32([batch, h, w, c], out);
}

/** Pads to `height` x `width` (centred, the extra pixel after), every channel set to `value`. */
function padCentred(image: Tensor<'float32'>, height: number, width: number, value: number): Tensor<'float32'> {
  const [b, h, w, c] = dims(image);
  if (h === height && w === width) return image;
  const top = Math.floor((height - h) / 2);
  const left = Math.floor((width - w) / 2);
  const out = new Float32Array(b * height * width * c).fill(value); // [B, height, width, C]
  for (let n = 0; n < b; n++) {
    for (let y = 0; y < h; y++) {
      const from = ((n * h + y) * w) * c;
      out.set(image.data.subarray(from, from + w * c), ((n * height + y + top) * width + left) * c);
    }
  }
  return Tensor.float32([b, height, width, c], out);
}

/** Appends channels of ones up to `channels`. */
function widenChannels(image: Tensor<'float32'>, channels: number): Tensor<'float32'> {
  const [b, h, w, c] = dims(image);
  if (c >= channels) return image;
  const out = new Float32Array(b * h * w * channels).fill(1); // [B, H, W, channels]
  for (let p = 0; p < b * h * w; p++) out.set(image.data.subarray(p * c, (p + 1) * c), p * channels);
  return Tensor.float32([b, h, w, channels], out);
}

/** The spacer strip: the colour on the first three channels, alpha 1 when there are four. */
function spacer(batch: number, height: number, width: number, channels: number, color: number | readonly number[]): Tensor<'float32'> {
  const pixel = new Float32Array(channels);
  if (typeof color === 'number') pixel.fill(color, 0, Math.min(3, channels));
  else for (let i = 0; i < Math.min(color.length, channels); i++) pixel[i] = color[i]!;
  if (channels === 4) pixel[3] = 1;
  const out = new Float32Array(batch * height * width * channels); // [B, height, width, C]
  for (let p = 0; p < batch * height * width; p++) out.set(pixel, p * channels);
  return Tensor.float32([batch, height, width, channels], out);
}

/** Concatenates along height (axis 1) or width (axis 2); the other dimensions must agree. */
function concat(parts: readonly Tensor<'float32'>[], axis: 1 | 2): Tensor<'float32'> {
  const [b, , , c] = dims(parts[0]!);
  for (const p of parts) {
    const [pb, ph, pw, pc] = dims(p);
    const [, h0, w0] = dims(parts[0]!);
    if (pb !== b || pc !== c || (axis === 2 ? ph !== h0 : pw !== w0)) {
      throw new RangeError(`ImageStitch: cannot join images of shapes ${parts.map((q) => `[${q.shape.join(', ')}]`).join(' and ')}`);
    }
  }
  const h = axis === 1 ? parts.reduce((s, p) => s + dims(p)[1], 0) : dims(parts[0]!)[1];
  const w = axis === 2 ? parts.reduce((s, p) => s + dims(p)[2], 0) : dims(parts[0]!)[2];
  const out = new Float32Array(b * h * w * c); // [B, h, w, C]
  for (let n = 0; n < b; n++) {
    let offset = 0; // rows (axis 1) or columns (axis 2) already written
    for (const p of parts) {
      const [, ph, pw] = dims(p);
      for (let y = 0; y < ph; y++) {
        const from = ((n * ph + y) * pw) * c;
        const to = axis === 1 ? ((n * h + offset + y) * w) * c : ((n * h + y) * w + offset) * c;
        out.set(p.data.subarray(from, from + pw * c), to);
      }
      offset += axis === 1 ? ph : pw;
    }
  }
  return Tensor.float32([b, h, w, c], out);
}

export const imageStitch = defineNode({
  name: 'ImageStitch',
  displayName: 'Image Stitch',
  category: 'image/transform',
  description: '\nStitches image2 to image1 in the specified direction.\nIf image2 is not provided, returns image1 unchanged.\nOptional spacing can be added between images.\n',
  pack: 'comfy_extras.nodes_images',
  inputs: {
    required: {
      image1: { type: 'IMAGE' },
      direction: { type: 'COMBO', options: ['right', 'down', 'left', 'up'], default: 'right' },
      match_image_size: { type: 'BOOLEAN', default: true },
      spacing_width: { type: 'INT', default: 0, min: 0, max: 1024, step: 2 },
      spacing_color: { type: 'COMBO', options: ['white', 'black', 'red', 'green', 'blue'], default: 'white' },
    },
    optional: { image2: { type: 'IMAGE' } },
  },
  outputs: [{ type: 'IMAGE', name: 'IMAGE' }],
  async execute(inputs) {
    let image1 = expectImage(inputs['image1'], 'image1');
    if (inputs['image2'] === undefined || inputs['image2'] === null) return { outputs: [image1] };
    let image2 = expectImage(inputs['image2'], 'image2');
    const direction = String(inputs['direction']) as Direction;
    if (!['right', 'down', 'left', 'up'].includes(direction)) throw new RangeError(`ImageStitch: unknown direction '${direction}'`);
    const color = SPACING_COLORS[String(inputs['spacing_color'])];
    if (color === undefined) throw new RangeError(`ImageStitch: unknown spacing_color '${String(inputs['spacing_color'])}'`);
    const sideways = direction === 'left' || direction === 'right';

    const batch = Math.max(dims(image1)[0], dims(image2)[0]);
    image1 = repeatLast(image1, batch);
    image2 = repeatLast(image2, batch);

    if (inputs['match_image_size'] === true) {
      const [, h1, w1] = dims(image1);
      const [, h2, w2] = dims(image2);
      const aspect = w2 / h2;
      const [width, height] = sideways ? [Math.trunc(h1 * aspect), h1] : [w1, Math.trunc(w1 / aspect)];
      image2 = await upscaleImage(image2, width, height, 'lanczos');
    } else {
      const pad = typeof color === 'number' ? color : 0;
      const [, h1, w1] = dims(image1);
      const [, h2, w2] = dims(image2);
      if (sideways) {
        const height = Math.max(h1, h2);
        image1 = padCentred(image1, height, w1, pad);
        image2 = padCentred(image2, height, w2, pad);
      } else {
        const width = Math.max(w1, w2);
        image1 = padCentred(image1, h1, width, pad);
        image2 = padCentred(image2, h2, width, pad);
      }
    }

    const channels = Math.max(dims(image1)[3], dims(image2)[3]);
    image1 = widenChannels(image1, channels);
    image2 = widenChannels(image2, channels);

    const parts = direction === 'left' || direction === 'up' ? [image2, image1] : [image1, image2];
    let spacing = Number(inputs['spacing_width']);
    if (spacing > 0) {
      spacing += spacing % 2;
      const strip = sideways
        ? spacer(batch, Math.max(dims(image1)[1], dims(image2)[1]), spacing, channels, color)
        : spacer(batch, spacing, Math.max(dims(image1)[2], dims(image2)[2]), channels, color);
      parts.splice(1, 0, strip);
    }
    return { outputs: [concat(parts, sideways ? 2 : 1)] };
  },
});
