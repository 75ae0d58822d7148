/**
 * ImageScale and ImageScaleToMaxDimension, resizing like ComfyUI's `comfy.utils.common_upscale`: torch interpolate
 * modes in TypeScript (@uso-studio/runtime), and lanczos through sharp on uint8 pixels, as ComfyUI goes through PIL.
 */

import sharp from 'sharp';
import { Tensor, TORCH_RESIZE_MODES, cropCenterToAspect, resizeImage, roundHalfEven, type TorchResizeMode } from '@uso-studio/runtime';
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
 * Lanczos resampling of each image through sharp's lanczos3 kernel on uint8 pixels. Close to PIL's LANCZOS (also a
 * 3-lobe kernel widened when downscaling) but not bit-identical: libvips may box-shrink large reductions first.
 */
async function lanczos(image: Tensor<'float32'>, width: number, height: number): Promise<Tensor<'float32'>> {
  const batch = image.shape[0]!;
  const out: Tensor<'float32'>[] = [];
  for (let index = 0; index < batch; index++) {
    const raw = imageToRaw(image, index);
    const { data, info } = await sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: raw.channels as 1 | 2 | 3 | 4 } })
      .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    out.push(imageTensorFromRaw({ data, width: info.width, height: info.height, channels: info.channels })); // [1, height, width, C]
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
      upscale_method: { type: 'COMBO', options: ['nearest-exact', 'bilinear', 'area', 'bicubic', 'lanczos'] },
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

export const imageScaleToMaxDimension = defineNode({
  name: 'ImageScaleToMaxDimension',
  displayName: 'Scale Image to Max Dimension',
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
