/**
 * LoadImage: an image file from the input folder as IMAGE [B, H, W, 3] and MASK [B, H, W], following ComfyUI's
 * `nodes.LoadImage`: EXIF orientation applied, every frame of a multi-frame file that has the first frame's size is
 * batched, the mask is 1 - alpha, and an image without alpha gets a 64x64 zero mask.
 */

import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import sharp from 'sharp';
import { Tensor } from '@uso-studio/runtime';
import { defineNode, type HostEnvironment, type NodeInputs } from '@uso-studio/core';
import { catBatch, imageTensorFromRaw } from './tensor-io.ts';
import { listImageFiles, resolveAnnotatedPath } from './paths.ts';

/** A decoded image: IMAGE [B, H, W, 3] and MASK [B, H, W] (or [B, 64, 64] zeros without alpha). */
export interface DecodedImage {
  image: Tensor<'float32'>;
  mask: Tensor<'float32'>;
}

/** A file could not be decoded as an image; the message names the file. */
export class ImageDecodeError extends Error {
  override name = 'ImageDecodeError';
}

/**
 * Decodes image bytes the way ComfyUI's LoadImage does. `label` names the file in error messages.
 * Differences from PIL: colours are read without ICC conversion (as PIL does) but 16-bit images are scaled to 8 bits
 * properly (ComfyUI's mode 'I' path divides by 255 and clips).
 * @throws ImageDecodeError
 */
export async function decodeImage(bytes: Uint8Array, label: string): Promise<DecodedImage> {
  try {
    return await decodeWith(bytes, 'warning');
  } catch (first) {
    // Like node_helpers.pillow, which retries with LOAD_TRUNCATED_IMAGES: a truncated file still gives its pixels.
    try {
      return await decodeWith(bytes, 'none');
    } catch {
      throw new ImageDecodeError(`Cannot load image '${label}': ${first instanceof Error ? first.message : String(first)}`);
    }
  }
}

async function decodeWith(bytes: Uint8Array, failOn: 'warning' | 'none'): Promise<DecodedImage> {
  const meta = await sharp(bytes, { failOn }).metadata();
  // MPO files (stereo JPEG pairs) load as one frame in ComfyUI; sharp already reads only the first picture.
  const pages = Math.max(1, meta.pages ?? 1);
  const images: Tensor<'float32'>[] = [];
  const alphas: (Tensor<'float32'> | undefined)[] = [];
  let width = 0;
  let height = 0;
  for (let page = 0; page < pages; page++) {
    const { data, info } = await sharp(bytes, { page, failOn, ignoreIcc: true })
      .autoOrient()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (images.length === 0) {
      width = info.width;
      height = info.height;
    } else if (info.width !== width || info.height !== height) {
      continue; // ComfyUI skips frames whose size differs from the first.
    }
    const channels = info.channels;
    const pixels = width * height;
    const rgb = new Uint8Array(pixels * 3);
    let alpha: Uint8Array | undefined = channels === 4 || channels === 2 ? new Uint8Array(pixels) : undefined;
    for (let p = 0; p < pixels; p++) {
      if (channels >= 3) {
        rgb[p * 3] = data[p * channels]!;
        rgb[p * 3 + 1] = data[p * channels + 1]!;
        rgb[p * 3 + 2] = data[p * channels + 2]!;
      } else {
        rgb[p * 3] = rgb[p * 3 + 1] = rgb[p * 3 + 2] = data[p * channels]!;
      }
      if (alpha) alpha[p] = data[p * channels + channels - 1]!;
    }
    // GIF frames always decode with alpha here; PIL gives palette mode without transparency for opaque GIFs.
    if (alpha && meta.format === 'gif' && alpha.every((a) => a === 255)) alpha = undefined;
    images.push(imageTensorFromRaw({ data: rgb, width, height, channels: 3 })); // [1, H, W, 3]
    alphas.push(alpha ? maskFromAlpha(alpha, width, height) : undefined);
  }
  // ComfyUI would fail to batch a mix of full-size and 64x64 masks; use full-size zeros for opaque frames instead.
  const anyAlpha = alphas.some((a) => a !== undefined);
  const masks = alphas.map((a) => a ?? (anyAlpha ? Tensor.zeros([1, height, width]) : Tensor.zeros([1, 64, 64])));
  return { image: catBatch(images), mask: catBatch(masks) };
}

/** MASK [1, H, W] = 1 - alpha / 255, in float32 as torch computes it. */
function maskFromAlpha(alpha: Uint8Array, width: number, height: number): Tensor<'float32'> {
  const out = new Float32Array(alpha.length);
  for (let i = 0; i < alpha.length; i++) out[i] = 1 - Math.fround(alpha[i]! / 255);
  return Tensor.float32([1, height, width], out);
}

/** sha256 of the file's bytes, as ComfyUI's LoadImage.IS_CHANGED; NaN (always re-run) when it cannot be read. */
async function fileFingerprint(inputs: NodeInputs, env: HostEnvironment): Promise<unknown> {
  try {
    const file = resolveAnnotatedPath(String(inputs['image']), env);
    return createHash('sha256').update(await fs.readFile(file)).digest('hex');
  } catch {
    return Number.NaN;
  }
}

async function validateImageName(inputs: NodeInputs, env: HostEnvironment): Promise<true | string> {
  const name = inputs['image'];
  if (typeof name !== 'string') return true; // a link: checked when it runs
  try {
    const stat = await fs.stat(resolveAnnotatedPath(name, env));
    if (stat.isFile()) return true;
  } catch {
    // falls through to ComfyUI's message
  }
  return `Invalid image file: ${name}`;
}

export const loadImage = defineNode({
  name: 'LoadImage',
  displayName: 'Load Image',
  category: 'image',
  pack: 'nodes',
  description: 'Loads an image from the input folder; the mask is 1 - alpha.',
  inputs: {
    required: {
      image: { type: 'COMBO', options: (env) => listImageFiles(env.inputDir), image_upload: true },
    },
  },
  outputs: [
    { type: 'IMAGE', name: 'IMAGE' },
    { type: 'MASK', name: 'MASK' },
  ],
  fingerprint: fileFingerprint,
  validate: validateImageName,
  async execute(inputs, context) {
    const name = String(inputs['image']);
    let file: string;
    try {
      file = resolveAnnotatedPath(name, context.env);
    } catch (error) {
      throw new ImageDecodeError(`Invalid image file: ${name} (${(error as Error).message})`);
    }
    let bytes: Uint8Array;
    try {
      bytes = await fs.readFile(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new ImageDecodeError(code === 'ENOENT' ? `Invalid image file: ${name} (not found)` : `Cannot read image '${name}': ${(error as Error).message}`);
    }
    const { image, mask } = await decodeImage(bytes, name);
    return { outputs: [image, mask] };
  },
});
