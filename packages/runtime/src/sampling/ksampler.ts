/**
 * The numeric path of ComfyUI's KSampler for a CONST (flow) model, minus the model itself: process_in of a
 * non-empty latent, noise scaling at sigmas[0], the sampler, inverse noise scaling at sigmas[-1], process_out.
 */

import {
  FLUX_LATENT_FORMAT,
  inverseNoiseScaling,
  isAllZero,
  noiseScaling,
  processLatentIn,
  processLatentOut,
  type LatentFormat,
} from './latent.ts';
import { getSampler, type AncestralOptions, type Denoiser } from './samplers.ts';

/** Options of {@link ksample}. */
export interface KSampleOptions extends AncestralOptions {
  /** ComfyUI sampler name (see SAMPLERS). */
  sampler: string;
  /** Schedule from ksamplerSigmas. An empty schedule returns the latent untouched, as ComfyUI does at denoise 0. */
  sigmas: readonly number[];
  /** The input latent in VAE space (all zeros for text-to-image), [B, C, H, W] flattened. */
  latent: Float32Array;
  /** Initial noise (prepareNoise), same length as the latent; zeros to disable noise. */
  noise: Float32Array;
  /** Latent format for process_in/out; FLUX's by default, null to skip both (model-space latents). */
  latentFormat?: LatentFormat | null;
}

/**
 * Runs one KSampler pass and returns the VAE-space latent.
 *
 * 1. Empty schedule: return the latent as it came.
 * 2. process_in the latent unless it is all zeros.
 * 3. x = sigma_0 * noise + (1 - sigma_0) * latent.
 * 4. Sample (the seed drives the ancestral noise like ComfyUI's default_noise_sampler on the CPU).
 * 5. x / (1 - sigma_last), then process_out.
 */
export async function ksample(denoise: Denoiser, options: KSampleOptions): Promise<Float32Array> {
  const { sigmas, latent, noise, latentFormat = FLUX_LATENT_FORMAT } = options;
  const sampler = getSampler(options.sampler);
  if (noise.length !== latent.length) {
    throw new RangeError(`ksample: noise has ${noise.length} values but the latent has ${latent.length}; draw it with prepareNoise(latent shape)`);
  }
  // 1.
  if (sigmas.length === 0) return Float32Array.from(latent);
  // 2.
  const latentIn = latentFormat && !isAllZero(latent) ? processLatentIn(latent, latentFormat) : latent;
  // 3.
  const x = noiseScaling(sigmas[0]!, noise, latentIn);
  // 4.
  const samples = await sampler(denoise, x, sigmas, options);
  // 5.
  const out = inverseNoiseScaling(sigmas[sigmas.length - 1]!, samples);
  return latentFormat ? processLatentOut(out, latentFormat) : out;
}
