/**
 * `comfy.utils.common_upscale` for channels-first tensors [B, C, H, W] (LATENT samples): an optional centre crop to
 * the target aspect, then torch's interpolate modes or ComfyUI's bislerp. Lanczos is for pictures only (LatentUpscale
 * does not offer it); IMAGE tensors go through the image pack's upscaleImage.
 */

import { Tensor } from '../tensor/tensor.ts';
import { bislerp } from './bislerp.ts';
import { TORCH_RESIZE_MODES, cropCenterToAspect, resizeImage, type TorchResizeMode } from './resize.ts';

/** The upscale methods ComfyUI's latent upscaling nodes offer, in ComfyUI's order. */
export const LATENT_UPSCALE_METHODS = ['nearest-exact', 'bilinear', 'area', 'bicubic', 'bislerp'] as const;
export type LatentUpscaleMethod = (typeof LATENT_UPSCALE_METHODS)[number];

/**
 * Resizes [B, C, H, W] to [B, C, height, width].
 * @example commonUpscaleLatent(samples, 96, 64, 'bislerp', 'disabled') // [B, C, 64, 96]
 */
export function commonUpscaleLatent(
  samples: Tensor<'float32'>,
  width: number,
  height: number,
  method: LatentUpscaleMethod,
  crop: 'disabled' | 'center',
): Tensor<'float32'> {
  if (samples.shape.length !== 4) throw new RangeError(`expected latent samples [B, C, H, W], got [${samples.shape.join(', ')}]`);
  const [b, c, h, w] = samples.shape as [number, number, number, number];
  // Every channel is its own picture for the crop and the torch modes: [B, C, H, W] is [B*C, H, W, 1] channels-last.
  let planes = Tensor.float32([b * c, h, w, 1], samples.data);
  if (crop === 'center') planes = cropCenterToAspect(planes, width, height);
  if (method === 'bislerp') {
    const cropped = planes.shape as [number, number, number, number];
    return bislerp(Tensor.float32([b, c, cropped[1], cropped[2]], planes.data), width, height);
  }
  if (!(TORCH_RESIZE_MODES as readonly string[]).includes(method)) {
    throw new RangeError(`Unknown upscale_method '${String(method)}'; expected one of ${LATENT_UPSCALE_METHODS.join(', ')}`);
  }
  const resized = resizeImage(planes, width, height, method as TorchResizeMode); // [B*C, height, width, 1]
  return Tensor.float32([b, c, height, width], resized.data);
}
