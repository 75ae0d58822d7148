/**
 * Peak activation memory of a FLUX VAE run, for deciding whether a whole image fits or must be tiled (ComfyUI's
 * `memory_used_decode` plays this part). The largest live set is at full resolution: the decoder's last upsample
 * turns level 1's 256 channels into a full-resolution tensor, and a res block there holds its input (for the skip),
 * GroupNorm's intermediates and the conv output at once; the mid attention adds its [h*w, h*w] scores and softmax.
 * `LIVE_TENSORS` was checked against onnxruntime's measured peak (bench/flux-vae.bench.ts prints both).
 */

import type { FluxVaeConfig } from './flux-vae-config.ts';
import { levelWidths } from './flux-vae-config.ts';

/** Full-size float32 tensors of the widest width alive at once inside a res block (input, norm steps, conv output). */
const LIVE_TENSORS = 5;

/**
 * Estimated peak activation bytes (float32) of one run. `dims` is the graph input's shape: the image [B, C, H, W]
 * for the encoder, the latent [B, 16, h, w] for the decoder.
 */
export function fluxVaeActivationBytes(c: FluxVaeConfig, part: 'encoder' | 'decoder', dims: readonly number[]): number {
  const [batch, , a, b] = dims as [number, number, number, number];
  const factor = 2 ** (c.channelMultipliers.length - 1);
  const [fullH, fullW] = part === 'encoder' ? [a, b] : [a * factor, b * factor];
  const widths = levelWidths(c);
  let peak = 0;
  widths.forEach((width, level) => {
    const pixels = Math.ceil(fullH / 2 ** level) * Math.ceil(fullW / 2 ** level);
    // The decoder's upsample from level + 1 produces that level's width at this level's resolution.
    const widest = Math.max(width, part === 'decoder' ? (widths[level + 1] ?? 0) : 0);
    peak = Math.max(peak, LIVE_TENSORS * widest * pixels * 4);
  });
  const tokens = Math.ceil(fullH / factor) * Math.ceil(fullW / factor);
  const attention = 2 * tokens * tokens * 4;
  return batch * Math.max(peak, attention + 3 * widths[widths.length - 1]! * tokens * 4);
}
