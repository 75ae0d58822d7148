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
import { catBatch } from './tensor-io.ts';
import { listImageFiles, resolveAnnotatedPath } from './paths.ts';

/** A decoded image: IMAGE [B, H, W, 3] and MASK [B, H, W] (or [B, 64, 64] zeros without alpha). */
export interface DecodedImage {
  image: Tensor<'float32'>;
  mask: Tensor<'float32'>;
}

/**
 * The largest decoded picture (width × height) LoadImage and the server's uploads accept unless the host sets
 * `env.maxImagePixels`: 8192². A small file can decode to a huge picture (a 746 KB PNG of 16000² takes 3.5 GB).
 */
export const DEFAULT_MAX_IMAGE_PIXELS = 8192 * 8192;

/** The message for a picture over the pixel limit, shared by validation and decoding. */
function tooManyPixels(label: string, width: number, height: number, limit: number): string {
  return `Image '${label}' is ${width}x${height} pixels (${(width * height).toLocaleString('en-US')}); the limit is ${limit.toLocaleString('en-US')} pixels (--max-image-megapixels). Scale it down first.`;
}

/** A file could not be decoded as an image; the message names the file. */
export class ImageDecodeError extends Error {
  override name = 'ImageDecodeError';
}

export interface DecodeOptions {
  /** Decoded pixels allowed (default DEFAULT_MAX_IMAGE_PIXELS), checked from the header before decoding. */
  maxPixels?: number;
  /** Once aborted, stop waiting for libvips (its work is discarded) and throw the signal's reason. */
  signal?: AbortSignal;
  /**
   * Called between blocks of DECODE_BLOCK_PIXELS pixels while they are converted to float (a blocking loop: about a
   * second for the largest picture allowed), never for a picture of one block; throws to stop. A node passes its progress, which throws once the
   * prompt is interrupted.
   */
  checkpoint?: (done: number, total: number) => void;
}

/** Pixels converted between two checkpoints. */
export const DECODE_BLOCK_PIXELS = 1 << 20;

/**
 * Decodes image bytes the way ComfyUI's LoadImage does. `label` names the file in error messages.
 * Differences from PIL: colours are read without ICC conversion (as PIL does) but 16-bit images are scaled to 8 bits
 * properly (ComfyUI's mode 'I' path divides by 255 and clips).
 * @throws ImageDecodeError, or the signal's reason once aborted
 */
export async function decodeImage(bytes: Uint8Array, label: string, options: DecodeOptions = {}): Promise<DecodedImage> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_IMAGE_PIXELS;
  // The header says how big the picture is; refuse before decoding anything.
  const header = await unlessAborted(
    sharp(bytes, { limitInputPixels: false })
      .metadata()
      .catch(() => undefined),
    options.signal,
  );
  if (header?.width && header.height && header.width * header.height > maxPixels) {
    throw new ImageDecodeError(tooManyPixels(label, header.width, header.height, maxPixels));
  }
  // A stop (the signal, or a checkpoint that threw) ends the decode; only the decoder's own failures are retried.
  let stop: { error: unknown } | undefined;
  const checkpoint = options.checkpoint;
  const guarded: DecodeOptions = {
    ...options,
    ...(checkpoint
      ? {
          checkpoint: (done: number, total: number) => {
            try {
              checkpoint(done, total);
            } catch (error) {
              stop = { error };
              throw error;
            }
          },
        }
      : {}),
  };
  const stopped = () => stop ?? (options.signal?.aborted ? { error: options.signal.reason } : undefined);
  try {
    return await decodeWith(bytes, 'warning', maxPixels, guarded);
  } catch (first) {
    if (stopped()) throw stopped()!.error;
    // Like node_helpers.pillow, which retries with LOAD_TRUNCATED_IMAGES: a truncated file still gives its pixels.
    try {
      return await decodeWith(bytes, 'none', maxPixels, guarded);
    } catch {
      if (stopped()) throw stopped()!.error;
      throw new ImageDecodeError(`Cannot load image '${label}': ${first instanceof Error ? first.message : String(first)}`);
    }
  }
}

/** `work`, unless the signal aborts first: then its reason (the work goes on in libvips' threads and is dropped). */
function unlessAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const stop = () => reject(signal.reason);
    signal.addEventListener('abort', stop, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', stop));
  });
}

async function decodeWith(bytes: Uint8Array, failOn: 'warning' | 'none', maxPixels: number, options: DecodeOptions): Promise<DecodedImage> {
  const { signal, checkpoint } = options;
  const meta = await unlessAborted(sharp(bytes, { failOn, limitInputPixels: maxPixels }).metadata(), signal);
  // MPO files (stereo JPEG pairs) load as one frame in ComfyUI; sharp already reads only the first picture.
  const pages = Math.max(1, meta.pages ?? 1);
  const images: Tensor<'float32'>[] = [];
  const alphas: (Tensor<'float32'> | undefined)[] = [];
  let width = 0;
  let height = 0;
  for (let page = 0; page < pages; page++) {
    const { data, info } = await unlessAborted(
      sharp(bytes, { page, failOn, ignoreIcc: true, limitInputPixels: maxPixels })
        .autoOrient()
        .toColourspace('srgb')
        .raw({ depth: 'uchar' })
        .toBuffer({ resolveWithObject: true }),
      signal,
    );
    if (images.length === 0) {
      width = info.width;
      height = info.height;
    } else if (info.width !== width || info.height !== height) {
      continue; // ComfyUI skips frames whose size differs from the first.
    }
    const channels = info.channels;
    const pixels = width * height;
    const rgb = new Float32Array(pixels * 3); // [1, H, W, 3], as imageTensorFromRaw computes it: byte / 255
    let alpha: Uint8Array | undefined = channels === 4 || channels === 2 ? new Uint8Array(pixels) : undefined;
    for (let block = 0; block < pixels; block += DECODE_BLOCK_PIXELS) {
      if (block > 0) checkpoint?.(block, pixels); // a picture of one block (1 MP) reports nothing, as ComfyUI's
      const end = Math.min(pixels, block + DECODE_BLOCK_PIXELS);
      for (let p = block; p < end; p++) {
        if (channels >= 3) {
          rgb[p * 3] = data[p * channels]! / 255;
          rgb[p * 3 + 1] = data[p * channels + 1]! / 255;
          rgb[p * 3 + 2] = data[p * channels + 2]! / 255;
        } else {
          rgb[p * 3] = rgb[p * 3 + 1] = rgb[p * 3 + 2] = data[p * channels]! / 255;
        }
        if (alpha) alpha[p] = data[p * channels + channels - 1]!;
      }
    }
    // GIF frames always decode with alpha here; PIL gives palette mode without transparency for opaque GIFs.
    if (alpha && meta.format === 'gif' && alpha.every((a) => a === 255)) alpha = undefined;
    images.push(Tensor.float32([1, height, width, 3], rgb)); // [1, H, W, 3]
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
  if (name === undefined) return true; // a link: checked when it runs
  if (typeof name !== 'string') return `Invalid image file: ${String(name)}`;
  let file: string;
  try {
    file = resolveAnnotatedPath(name, env);
    if (!(await fs.stat(file)).isFile()) return `Invalid image file: ${name}`;
  } catch {
    return `Invalid image file: ${name}`; // ComfyUI's message
  }
  // A picture over the pixel limit is refused at validation, from its header, before it takes the queue.
  const limit = env.maxImagePixels ?? DEFAULT_MAX_IMAGE_PIXELS;
  const meta = await sharp(file, { limitInputPixels: false })
    .metadata()
    .catch(() => undefined);
  if (meta?.width && meta.height && meta.width * meta.height > limit) return tooManyPixels(name, meta.width, meta.height, limit);
  return true;
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
  // ComfyUI's LoadImage.VALIDATE_INPUTS(image): any existing file, `name.png [output]` and `[temp]` included.
  validatesInputs: ['image'],
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
    context.signal.throwIfAborted();
    const { image, mask } = await decodeImage(bytes, name, {
      ...(context.env.maxImagePixels !== undefined ? { maxPixels: context.env.maxImagePixels } : {}),
      signal: context.signal,
      // The pixel conversion blocks this thread; progress is where a blocked engine thread reads the interrupt flag.
      checkpoint: (done, total) => context.progress(done, total),
    });
    return { outputs: [image, mask] };
  },
});
