/**
 * VAE runs as ComfyUI's VAE.decode/encode do them: whole when the estimated activations fit the memory budget, in
 * batch chunks when one image fits but the batch does not, and in blended tiles (three passes, comfy/sd.py
 * decode_tiled_/encode_tiled_) when even one image would not fit. The tiled nodes call the tiled path directly.
 */

import { Tensor, tiledScaleThreePass } from '@uso-studio/runtime';
import type { ModelService } from '../models/model-service.ts';

/** The VAE's spatial compression (FLUX and the demo VAE: 8). */
export const VAE_SCALE = 8;

/** Tile sizes and overlap in the graph input's units: latent samples for decoding, pixels for encoding. */
export interface VaeTiling {
  readonly tileH: number;
  readonly tileW: number;
  readonly overlap: number;
}

/** ComfyUI's fallback when a whole decode runs out of memory: decode_tiled_'s defaults (64 x 64 latents, overlap 16). */
export const DECODE_FALLBACK_TILING: VaeTiling = { tileH: 64, tileW: 64, overlap: 16 };
/** ComfyUI's fallback for encoding: encode_tiled_'s defaults (512 x 512 pixels, overlap 64). */
export const ENCODE_FALLBACK_TILING: VaeTiling = { tileH: 512, tileW: 512, overlap: 64 };

interface Direction {
  readonly role: 'vae_decoder' | 'vae_encoder';
  readonly input: 'latent' | 'image';
  readonly output: 'image' | 'latent';
  readonly scale: number;
  readonly fallback: VaeTiling;
  readonly verb: string;
}

const DECODE: Direction = { role: 'vae_decoder', input: 'latent', output: 'image', scale: VAE_SCALE, fallback: DECODE_FALLBACK_TILING, verb: 'decoding' };
const ENCODE: Direction = { role: 'vae_encoder', input: 'image', output: 'latent', scale: 1 / VAE_SCALE, fallback: ENCODE_FALLBACK_TILING, verb: 'encoding' };

export interface VaeRunOptions {
  /** Run in tiles with these sizes (the tiled nodes); without it the memory budget decides. */
  readonly tiling?: VaeTiling;
  /** Receives the line saying that (and why) the run was split. */
  readonly log?: (line: string) => void;
}

/** Latent [B, C, h, w] (scale/shift already undone) -> image [B, 3, 8h, 8w] about -1..1. */
export function vaeDecodeRaw(models: ModelService, file: string, latent: Tensor<'float32'>, options: VaeRunOptions = {}): Promise<Tensor<'float32'>> {
  return runVae(models, file, latent, DECODE, options);
}

/** Image [B, 3, H, W] in -1..1 (H, W multiples of 8) -> raw posterior mean [B, C, H/8, W/8]. */
export function vaeEncodeRaw(models: ModelService, file: string, image: Tensor<'float32'>, options: VaeRunOptions = {}): Promise<Tensor<'float32'>> {
  return runVae(models, file, image, ENCODE, options);
}

async function runVae(models: ModelService, file: string, x: Tensor<'float32'>, d: Direction, options: VaeRunOptions): Promise<Tensor<'float32'>> {
  const request = { file, role: d.role } as const;
  const run = async (t: Tensor<'float32'>) => (await models.run(request, { [d.input]: t }, [d.output]))[d.output] as Tensor<'float32'>;
  const tiled = (t: Tensor<'float32'>, tiling: VaeTiling) => tiledScaleThreePass(t, run, { ...tiling, scale: d.scale });
  if (options.tiling) return tiled(x, options.tiling);

  const need = await models.activationBytes(request, x.shape);
  const budget = models.activationBudget();
  if (need === undefined || need <= budget) return run(x);
  const batch = x.shape[0]!;
  const perItem = need / batch;
  const gib = (n: number) => `${(n / 2 ** 30).toFixed(2)} GiB`;
  const pixels = d.role === 'vae_decoder' ? VAE_SCALE : 1;
  const size = `${x.shape[3]! * pixels}x${x.shape[2]! * pixels}`;
  if (perItem <= budget) {
    const chunk = Math.max(1, Math.floor(budget / perItem));
    options.log?.(`VAE ${d.verb} ${batch} x ${size} needs about ${gib(need)} of activations, more than the ${gib(budget)} budget; running ${chunk} at a time`);
    const parts: Tensor<'float32'>[] = [];
    for (let b = 0; b < batch; b += chunk) parts.push(await run(sliceBatch(x, b, Math.min(batch, b + chunk))));
    return concatBatch(parts);
  }
  options.log?.(`VAE ${d.verb} ${size} needs about ${gib(perItem)} of activations per image, more than the ${gib(budget)} budget; ${d.verb} in tiles`);
  return tiled(x, d.fallback);
}

function sliceBatch(x: Tensor<'float32'>, from: number, to: number): Tensor<'float32'> {
  const item = x.size / x.shape[0]!;
  return Tensor.float32([to - from, ...x.shape.slice(1)], x.data.slice(from * item, to * item));
}

function concatBatch(parts: readonly Tensor<'float32'>[]): Tensor<'float32'> {
  const total = parts.reduce((n, p) => n + p.size, 0);
  const data = new Float32Array(total);
  let at = 0;
  for (const p of parts) {
    data.set(p.data, at);
    at += p.size;
  }
  return Tensor.float32([parts.reduce((n, p) => n + p.shape[0]!, 0), ...parts[0]!.shape.slice(1)], data);
}
