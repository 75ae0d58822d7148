/**
 * Latent-space bookkeeping around sampling, as ComfyUI does it for Flux: the latent format's process_in/out,
 * CONST (rectified flow) noise scaling, fix_empty_latent_channels and prepare_noise. Values are float32 and each
 * element-wise formula rounds like the torch expression it mirrors.
 */

import { Tensor } from '../tensor/tensor.ts';
import { TorchGenerator } from '../noise/torch-randn.ts';

const f32 = Math.fround;

/** A latent format: channel count and the affine map between VAE latents and model latents. */
export interface LatentFormat {
  readonly channels: number;
  readonly scale: number;
  readonly shift: number;
}

/** FLUX's latent format (comfy/latent_formats.py Flux). */
export const FLUX_LATENT_FORMAT: LatentFormat = Object.freeze({ channels: 16, scale: 0.3611, shift: 0.1159 });

/** process_in: (z - shift) * scale, element-wise in float32. */
export function processLatentIn(z: Float32Array, format: LatentFormat = FLUX_LATENT_FORMAT): Float32Array {
  const shift = f32(format.shift);
  const scale = f32(format.scale);
  const out = new Float32Array(z.length);
  for (let i = 0; i < z.length; i++) out[i] = f32(z[i]! - shift) * scale;
  return out;
}

/** process_out: z / scale + shift, element-wise in float32 (a true division, as torch does it). */
export function processLatentOut(z: Float32Array, format: LatentFormat = FLUX_LATENT_FORMAT): Float32Array {
  const shift = f32(format.shift);
  const scale = f32(format.scale);
  const out = new Float32Array(z.length);
  for (let i = 0; i < z.length; i++) out[i] = f32(z[i]! / scale) + shift;
  return out;
}

/** True when every element is zero (ComfyUI's torch.count_nonzero(latent) == 0). */
export function isAllZero(x: Float32Array): boolean {
  for (let i = 0; i < x.length; i++) if (x[i] !== 0) return false;
  return true;
}

/**
 * CONST.noise_scaling at the first sigma: sigma * noise + (1 - sigma) * latent (float32 tensor arithmetic).
 * `latent` must already be process_in'ed.
 */
export function noiseScaling(sigma: number, noise: Float32Array, latent: Float32Array): Float32Array {
  if (noise.length !== latent.length) {
    throw new RangeError(`noiseScaling: noise has ${noise.length} elements but the latent has ${latent.length}`);
  }
  const s = f32(sigma);
  const oneMinus = f32(1 - s);
  const out = new Float32Array(noise.length);
  for (let i = 0; i < noise.length; i++) out[i] = f32(s * noise[i]!) + f32(oneMinus * latent[i]!);
  return out;
}

/** CONST.inverse_noise_scaling at the last sigma: x / (1 - sigma). The identity for a schedule ending at 0. */
export function inverseNoiseScaling(sigma: number, x: Float32Array): Float32Array {
  const d = f32(1 - f32(sigma));
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! / d;
  return out;
}

/**
 * fix_empty_latent_channels: an all-zero latent whose channel count differs from the model's (a 4-channel
 * EmptyLatentImage for a 16-channel Flux model) becomes zeros with the model's channel count. Anything else is
 * returned as is.
 */
export function fixEmptyLatentChannels(latent: Tensor<'float32'>, channels = FLUX_LATENT_FORMAT.channels): Tensor<'float32'> {
  const [b, c, ...rest] = latent.shape;
  if (b === undefined || c === undefined) {
    throw new RangeError(`fixEmptyLatentChannels: need a [B, C, ...] latent, got [${latent.shape.join(', ')}]`);
  }
  if (c === channels || !isAllZero(latent.data)) return latent;
  return Tensor.zeros([b, channels, ...rest]);
}

/**
 * prepare_noise: the initial noise ComfyUI draws for a latent of `shape` ([B, C, H, W]) from `seed` on the CPU.
 * Without batchIndex: one randn(shape). With batchIndex (LatentFromBatch / "batch_index"): draws [1, C, H, W] for
 * i = 0..max(batchIndex) from one generator and keeps, in order, the draw each listed index names.
 */
export function prepareNoise(
  shape: readonly number[],
  seed: number | bigint,
  batchIndex?: readonly number[],
): Tensor<'float32'> {
  const gen = new TorchGenerator(seed);
  if (batchIndex === undefined) return Tensor.float32(shape, gen.randn(shape));
  if (batchIndex.length === 0 || batchIndex.some((i) => !Number.isInteger(i) || i < 0)) {
    throw new RangeError(`prepareNoise: batchIndex must list non-negative integers, got [${batchIndex.join(', ')}]`);
  }
  const one = [1, ...shape.slice(1)];
  const per = one.reduce((a, d) => a * d, 1);
  const max = Math.max(...batchIndex);
  const draws: Float32Array[] = [];
  for (let i = 0; i <= max; i++) draws.push(gen.randn(one)); // [1, C, H, W]
  const out = new Float32Array(per * batchIndex.length); // [len(batchIndex), C, H, W]
  batchIndex.forEach((idx, k) => out.set(draws[idx]!, k * per));
  return Tensor.float32([batchIndex.length, ...shape.slice(1)], out);
}
