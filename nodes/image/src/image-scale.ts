/**
 * ImageScale, ImageScaleToMaxDimension and ImageScaleToTotalPixels, resizing like ComfyUI's
 * `comfy.utils.common_upscale`: torch interpolate modes and Pillow's LANCZOS (on uint8 pixels, as ComfyUI goes
 * through PIL), both in TypeScript (@uso-studio/runtime).
 */

import { Tensor, TORCH_RESIZE_MODES, cropCenterToAspect, pilLanczos, resizeImage, roundHalfEven, type TorchResizeMode } from '@uso-studio/runtime';
import { defineNode } from '@uso-studio/core';
import { catBatch, imageTensorFromRaw, imageToRaw } from './tensor-io.ts';

/** The resampling methods ComfyUI's image scaling nodes offer. */
export type UpscaleMethod = TorchResizeMode | 'lanczos';

/** ComfyUI's MAX_RESOLUTION. */
export const MAX_RESOLUTION = 16384;

/**
 * `common_upscale` for IMAGE tensors [B, H, W, C]: optional centre crop to the target aspect, then resampling.
 * Torch modes keep values outside 0..1 (bicubic overshoot) as torch does; lanczos quantises to uint8 first (PIL).
 * @example await upscaleImage(image, 768, 512, 'bicubic', 'center') // [B, 512, 768, C]
 */
export async function upscaleImage(
  image: Tensor<'float32'>,
  width: number,
  height: number,
  method: UpscaleMethod,
  crop: 'disabled' | 'center' = 'disabled',
): Promise<Tensor<'float32'>> {
  const source = crop === 'center' ? cropCenterToAspect(image, width, height) : image;
  if (method === 'lanczos') return lanczos(source, width, height);
  if (!(TORCH_RESIZE_MODES as readonly string[]).includes(method)) {
    throw new RangeError(`Unknown upscale_method '${String(method)}'; expected lanczos or ${TORCH_RESIZE_MODES.join(', ')}`);
  }
  return resizeImage(source, width, height, method);
}

/**
 * ComfyUI's `lanczos`: each image to uint8 (clip(255 x) truncated), Pillow's LANCZOS, back to x / 255. The same
 * levels as Pillow (RGBA premultiplied by alpha, as Pillow resizes it).
 */
function lanczos(image: Tensor<'float32'>, width: number, height: number): Tensor<'float32'> {
  const batch = image.shape[0]!;
  const out: Tensor<'float32'>[] = [];
  for (let index = 0; index < batch; index++) {
    const raw = imageToRaw(image, index);
    const data = pilLanczos(raw.data, raw.width, raw.height, raw.channels, width, height);
    out.push(imageTensorFromRaw({ data, width, height, channels: raw.channels })); // [1, height, width, C]
  }
  return catBatch(out);
}

/** ImageScale's size rule: 0 for one side keeps the aspect ratio (Python rounding, at least 1). */
export function imageScaleSize(inWidth: number, inHeight: number, width: number, height: number): { width: number; height: number } {
  if (width === 0) width = Math.max(1, roundHalfEven((inWidth * height) / inHeight));
  else if (height === 0) height = Math.max(1, roundHalfEven((inHeight * width) / inWidth));
  return { width, height };
}

/** ImageScaleToMaxDimension's size rule: the longer side becomes `largest`, the other round(ratio * largest). */
export function maxDimensionSize(inWidth: number, inHeight: number, largest: number): { width: number; height: number } {
  if (inHeight > inWidth) return { width: roundHalfEven((inWidth / inHeight) * largest), height: largest };
  if (inWidth > inHeight) return { width: largest, height: roundHalfEven((inHeight / inWidth) * largest) };
  return { width: largest, height: largest };
}

/** The upscale_method choices of ImageScale and ImageScaleToTotalPixels (ComfyUI lists the same five, in this order). */
const IMAGE_UPSCALE_METHODS = ['nearest-exact', 'bilinear', 'area', 'bicubic', 'lanczos'];

function imageDims(image: Tensor<'float32'>): { width: number; height: number } {
  if (image.shape.length !== 4) throw new RangeError(`image must be an IMAGE [B, H, W, C], got [${image.shape.join(', ')}]`);
  return { width: image.shape[2]!, height: image.shape[1]! };
}

export const imageScale = defineNode({
  name: 'ImageScale',
  displayName: 'Upscale Image',
  category: 'image/upscaling',
  pack: 'nodes',
  inputs: {
    required: {
      image: { type: 'IMAGE' },
      upscale_method: { type: 'COMBO', options: IMAGE_UPSCALE_METHODS },
      width: { type: 'INT', default: 512, min: 0, max: MAX_RESOLUTION, step: 1 },
      height: { type: 'INT', default: 512, min: 0, max: MAX_RESOLUTION, step: 1 },
      crop: { type: 'COMBO', options: ['disabled', 'center'] },
    },
  },
  outputs: [{ type: 'IMAGE', name: 'IMAGE' }],
  async execute(inputs) {
    const image = inputs['image'] as Tensor<'float32'>;
    const width = Number(inputs['width']);
    const height = Number(inputs['height']);
    if (width === 0 && height === 0) return { outputs: [image] };
    const dims = imageDims(image);
    const size = imageScaleSize(dims.width, dims.height, width, height);
    const crop = inputs['crop'] === 'center' ? 'center' : 'disabled';
    return { outputs: [await upscaleImage(image, size.width, size.height, inputs['upscale_method'] as UpscaleMethod, crop)] };
  },
});

/** ImageScaleToTotalPixels' size rule: scale both sides by sqrt(trunc(megapixels * 2^20) / pixels), Python rounding. */
export function totalPixelsSize(inWidth: number, inHeight: number, megapixels: number): { width: number; height: number } {
  const total = Math.trunc(megapixels * 1024 * 1024);
  const scale = Math.sqrt(total / (inWidth * inHeight));
  return { width: roundHalfEven(inWidth * scale), height: roundHalfEven(inHeight * scale) };
}

export const imageScaleToTotalPixels = defineNode({
  name: 'ImageScaleToTotalPixels',
  category: 'image/upscaling',
  pack: 'comfy_extras.nodes_post_processing',
  comfyApi: 'v3',
  inputs: {
    required: {
      image: { type: 'IMAGE' },
      upscale_method: { type: 'COMBO', options: IMAGE_UPSCALE_METHODS },
      megapixels: { type: 'FLOAT', default: 1.0, min: 0.01, max: 16.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'IMAGE', name: 'IMAGE' }],
  async execute(inputs) {
    const image = inputs['image'] as Tensor<'float32'>;
    const dims = imageDims(image);
    const size = totalPixelsSize(dims.width, dims.height, Number(inputs['megapixels']));
    if (size.width < 1 || size.height < 1) throw new RangeError(`ImageScaleToTotalPixels: a ${dims.width}x${dims.height} image at ${String(inputs['megapixels'])} megapixels has no pixels left`);
    return { outputs: [await upscaleImage(image, size.width, size.height, inputs['upscale_method'] as UpscaleMethod)] };
  },
});

export const imageScaleToMaxDimension = defineNode({
  // No display name: ComfyUI 0.3.64 maps none for it, so clients show the class name.
  name: 'ImageScaleToMaxDimension',
  category: 'image/upscaling',
  pack: 'comfy_extras.nodes_images',
  inputs: {
    required: {
      image: { type: 'IMAGE' },
      // ComfyUI's list really does name bilinear twice.
      upscale_method: { type: 'COMBO', options: ['area', 'lanczos', 'bilinear', 'nearest-exact', 'bilinear', 'bicubic'] },
      largest_size: { type: 'INT', default: 512, min: 0, max: MAX_RESOLUTION, step: 1 },
    },
  },
  outputs: [{ type: 'IMAGE', name: 'IMAGE' }],
  async execute(inputs) {
    const image = inputs['image'] as Tensor<'float32'>;
    const dims = imageDims(image);
    const size = maxDimensionSize(dims.width, dims.height, Number(inputs['largest_size']));
    return { outputs: [await upscaleImage(image, size.width, size.height, inputs['upscale_method'] as UpscaleMethod)] };
  },
});
