/**
 * Conversions between sharp images / PNG bytes and ComfyUI IMAGE tensors (float32 [B, H, W, C] in 0..1), with
 * ComfyUI's rounding: decoding divides uint8 by 255 in float32; encoding truncates clip(255 * x, 0, 255) to uint8,
 * as `np.clip(255. * image, 0, 255).astype(np.uint8)` does.
 */

import sharp, { type Sharp } from 'sharp';
import { Tensor } from '@uso-studio/runtime';
import { insertPngTextChunks } from '@uso-studio/core';

/** Raw interleaved 8-bit pixels as sharp's `raw()` output gives them. */
export interface RawPixels {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

/**
 * Decodes a sharp pipeline into an IMAGE tensor [1, H, W, C] (C = channels of the pipeline's raw output).
 * @example const image = await imageTensorFromSharp(sharp(bytes).autoOrient().removeAlpha().toColourspace('srgb'));
 */
export async function imageTensorFromSharp(image: Sharp): Promise<Tensor<'float32'>> {
  const { data, info } = await image.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  return imageTensorFromRaw({ data, width: info.width, height: info.height, channels: info.channels });
}

/** Wraps raw uint8 pixels as an IMAGE tensor [1, H, W, C] in 0..1. */
export function imageTensorFromRaw(raw: RawPixels): Tensor<'float32'> {
  const out = new Float32Array(raw.data.length); // [1, H, W, C]
  for (let i = 0; i < raw.data.length; i++) out[i] = raw.data[i]! / 255;
  return Tensor.float32([1, raw.height, raw.width, raw.channels], out);
}

/** A node input as an IMAGE tensor [B, H, W, C]; anything else is a TypeError naming the input. */
export function expectImage(value: unknown, name: string): Tensor<'float32'> {
  if (!(value instanceof Tensor) || value.shape.length !== 4) throw new TypeError(`${name} must be an IMAGE [B, H, W, C]`);
  return value as Tensor<'float32'>;
}

/** Stacks [1, H, W, C] (or [1, H, W]) tensors of equal shape along the batch axis. */
export function catBatch(items: readonly Tensor<'float32'>[]): Tensor<'float32'> {
  if (items.length === 0) throw new RangeError('catBatch needs at least one tensor');
  if (items.length === 1) return items[0]!;
  const rest = items[0]!.shape.slice(1);
  const per = items[0]!.size / items[0]!.shape[0]!;
  let batch = 0;
  for (const t of items) {
    if (t.shape.slice(1).join() !== rest.join()) {
      throw new RangeError(`cannot batch tensors of shapes [${items[0]!.shape.join(', ')}] and [${t.shape.join(', ')}]`);
    }
    batch += t.shape[0]!;
  }
  const out = new Float32Array(batch * per);
  let offset = 0;
  for (const t of items) {
    out.set(t.data, offset);
    offset += t.size;
  }
  return Tensor.float32([batch, ...rest], out);
}

/**
 * Image `index` of an IMAGE batch as raw uint8 pixels: clip(255 * x, 0, 255) truncated toward zero (NaN -> 0).
 * @throws RangeError when the tensor is not [B, H, W, C] with C in 1..4, or index is out of range.
 */
export function imageToRaw(image: Tensor<'float32'>, index: number): RawPixels {
  if (image.shape.length !== 4) throw new RangeError(`expected an IMAGE [B, H, W, C], got [${image.shape.join(', ')}]`);
  const [b, h, w, c] = image.shape as unknown as [number, number, number, number];
  if (c < 1 || c > 4) throw new RangeError(`an image needs 1 to 4 channels to be encoded, got ${c}`);
  if (!Number.isInteger(index) || index < 0 || index >= b) throw new RangeError(`image index ${index} is outside the batch of ${b}`);
  const per = h * w * c;
  const src = image.data.subarray(index * per, (index + 1) * per);
  const data = new Uint8Array(per);
  for (let i = 0; i < per; i++) {
    // float32 product, as numpy multiplies a float32 array by a Python float in float32.
    const v = Math.fround(255 * src[i]!);
    data[i] = v >= 255 ? 255 : v > 0 ? Math.trunc(v) : 0;
  }
  return { data, width: w, height: h, channels: c };
}

/** Options for `encodePng`. */
export interface EncodePngOptions {
  /** zlib level 0-9; ComfyUI's SaveImage uses 4 and PreviewImage 1. Default 4. */
  compressionLevel?: number;
  /** Text chunks to add (keyword -> text), e.g. `prompt` and `workflow`. */
  text?: Record<string, string>;
}

/**
 * Encodes image `index` of an IMAGE batch as PNG bytes, with optional text chunks.
 * @example await fs.writeFile(file, await encodePng(images, 0, { text: { prompt: JSON.stringify(prompt) } }));
 */
export async function encodePng(image: Tensor<'float32'>, index: number, options: EncodePngOptions = {}): Promise<Uint8Array> {
  const raw = imageToRaw(image, index);
  const png = await sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: raw.channels as 1 | 2 | 3 | 4 } })
    .png({ compressionLevel: options.compressionLevel ?? 4 })
    .toBuffer();
  const bytes = new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
  return options.text && Object.keys(options.text).length > 0 ? insertPngTextChunks(bytes, options.text) : bytes;
}
