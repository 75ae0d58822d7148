/**
 * Cheap step previews: the denoised latent mapped to RGB by a fixed linear map (ComfyUI's FLUX latent_rgb_factors
 * and bias, comfy/latent_formats.py), one pixel per latent pixel, encoded as a small PNG. No VAE run.
 */

import { encodePngRgb, Tensor } from '@uso-studio/runtime';
import type { ExecutionContext, PreviewImage } from '@uso-studio/core';

/** FLUX latent -> RGB factors [16][3] and bias [3] (ComfyUI's Flux latent format). */
const FLUX_RGB: readonly (readonly [number, number, number])[] = [
  [-0.0346, 0.0244, 0.0681],
  [0.0034, 0.021, 0.0687],
  [0.0275, -0.0668, -0.0433],
  [-0.0174, 0.016, 0.0617],
  [0.0859, 0.0721, 0.0329],
  [0.0004, 0.0383, 0.0115],
  [0.0405, 0.0861, 0.0915],
  [-0.0236, -0.0185, -0.0259],
  [-0.0245, 0.025, 0.118],
  [0.1008, 0.0755, -0.0421],
  [-0.0515, 0.0201, 0.0011],
  [0.0428, -0.0012, -0.0036],
  [0.0817, 0.0765, 0.0749],
  [-0.1264, -0.0522, -0.1103],
  [-0.028, -0.0881, -0.0499],
  [-0.1262, -0.0982, -0.0778],
];
const FLUX_RGB_BIAS = [-0.0329, -0.0718, -0.0851] as const;

/** The first batch item of a latent [B, 16, h, w] as an IMAGE [1, h, w, 3] in 0..1. */
export function latentPreviewImage(latent: Float32Array, shape: readonly number[]): Tensor<'float32'> {
  const [, c, h, w] = shape as [number, number, number, number];
  const out = new Float32Array(h * w * 3);
  const plane = h * w;
  for (let p = 0; p < plane; p++) {
    for (let k = 0; k < 3; k++) {
      let v = FLUX_RGB_BIAS[k]!;
      for (let ch = 0; ch < Math.min(c, 16); ch++) v += latent[ch * plane + p]! * FLUX_RGB[ch]![k]!;
      out[p * 3 + k] = Math.min(1, Math.max(0, (v + 1) / 2));
    }
  }
  return Tensor.float32([1, h, w, 3], out);
}

/** A PNG preview of a latent (fast zlib level: previews are sent every step and thrown away). */
export async function latentPreview(latent: Float32Array, shape: readonly number[]): Promise<PreviewImage> {
  const image = latentPreviewImage(latent, shape);
  const [, h, w] = image.shape as [number, number, number, number];
  const rgb = new Uint8Array(image.size);
  for (let i = 0; i < rgb.length; i++) rgb[i] = Math.round(image.data[i]! * 255);
  return { format: 'PNG', bytes: encodePngRgb(w, h, rgb, { level: 1 }) };
}

/**
 * Sends a step preview of a latent [B, 16, h, w] when the host wants one now; a failed preview is logged, never fatal.
 * The latent comes from a thunk, so a sampler on packed tokens unpacks only when someone will see the result.
 */
export async function offerLatentPreview(context: ExecutionContext, latent: () => Float32Array, shape: readonly number[]): Promise<void> {
  if (!context.previewWanted()) return;
  try {
    context.preview(await latentPreview(latent(), shape));
  } catch (error) {
    context.log.debug(`preview failed: ${(error as Error).message}`);
  }
}
