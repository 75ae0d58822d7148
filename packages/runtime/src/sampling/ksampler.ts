/**
 * The numeric path of ComfyUI's KSampler for a CONST (flow) model, minus the model itself: process_in of a
 * non-empty latent, noise scaling at sigmas[0], the sampler, inverse noise scaling at sigmas[-1], process_out.
 * Also ComfyUI's CFG (sampling_function / cfg_function) over two denoisers, with the unconditional prediction
 * that its post-CFG hook hands to the CFG++ samplers.
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
import {
  checkLength,
  getSampler,
  type AncestralOptions,
  type Denoiser,
  type GuidedDenoiser,
  type SamplerImplementation,
  type SdeSamplerOptions,
} from './samplers.ts';

/** A model under CFG: the guided denoiser plain samplers call, and the one CFG++ samplers call. */
export interface GuidedModel {
  /** ComfyUI's CFG result; at cfg 1 the negative is not evaluated. */
  denoise: Denoiser;
  /** The CFG result and the unconditional prediction, with the negative evaluated even at cfg 1. */
  denoiseWithUncond: GuidedDenoiser;
}

/** What {@link ksample} samples: a plain denoiser (no CFG) or a {@link GuidedModel}. */
export type SamplingModel = Denoiser | GuidedModel;

/** Inputs of {@link cfgGuidance}. */
export interface CfgOptions {
  positive: Denoiser;
  negative: Denoiser;
  cfg: number;
}

/** Python's math.isclose(cfg, 1.0) with its default relative tolerance, as ComfyUI tests it. */
export function isCfgOne(cfg: number): boolean {
  return Math.abs(cfg - 1) <= 1e-9 * Math.max(1, Math.abs(cfg));
}

/**
 * ComfyUI's CFG over a positive and a negative denoiser: uncond + (cond - uncond) * cfg in float32 (cfg rounded to
 * float32, as torch does with a Python scalar). At cfg 1 `denoise` skips the negative and returns the positive's
 * prediction (ComfyUI's cfg1 optimisation); `denoiseWithUncond` always evaluates both, so at cfg 1 its result is
 * uncond + (cond - uncond) * 1, which can differ from cond in the last bit, exactly as in ComfyUI.
 *
 * @example
 * const model = cfgGuidance({ positive: denoiserFromVelocity(pos), negative: denoiserFromVelocity(neg), cfg: 3.5 });
 * const out = await ksample(model, { sampler: 'euler_cfg_pp', sigmas, latent, noise, seed });
 */
export function cfgGuidance({ positive, negative, cfg }: CfgOptions): GuidedModel {
  if (!Number.isFinite(cfg)) throw new RangeError(`cfgGuidance: cfg must be a finite number, got ${cfg}`);
  const scale = Math.fround(cfg);
  const combine = (cond: Float32Array, uncond: Float32Array): Float32Array => {
    checkLength('negative denoiser', uncond, cond.length);
    const out = new Float32Array(cond.length);
    for (let k = 0; k < cond.length; k++) out[k] = uncond[k]! + Math.fround(Math.fround(cond[k]! - uncond[k]!) * scale);
    return out;
  };
  const both = async (x: Float32Array, sigma: number) => {
    const cond = await positive(x, sigma);
    checkLength('positive denoiser', cond, x.length);
    const uncond = await negative(x, sigma);
    return { denoised: combine(cond, uncond), uncondDenoised: uncond };
  };
  return {
    denoise: async (x, sigma) => (isCfgOne(cfg) ? positive(x, sigma) : (await both(x, sigma)).denoised),
    denoiseWithUncond: both,
  };
}

/**
 * Runs a registry entry on a model. A plain denoiser has no separate unconditional prediction, so for a CFG++
 * sampler its output serves as both (what CFG++ reduces to when cond and uncond agree).
 */
export function runSampler(
  sampler: SamplerImplementation,
  model: SamplingModel,
  x: Float32Array,
  sigmas: readonly number[],
  options: AncestralOptions = {},
): Promise<Float32Array> {
  if (sampler.kind === 'plain') return sampler.sample(typeof model === 'function' ? model : model.denoise, x, sigmas, options);
  const guided: GuidedDenoiser =
    typeof model === 'function'
      ? async (v, s) => {
          const d = await model(v, s);
          return { denoised: d, uncondDenoised: d };
        }
      : model.denoiseWithUncond;
  return sampler.sample(guided, x, sigmas, options);
}

/** Options of {@link ksample}. */
export interface KSampleOptions extends SdeSamplerOptions {
  /** ComfyUI sampler name (see SAMPLER_NAMES / SAMPLERS). */
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
 * 5. x / (1 - sigma_last), then process_out (uni_pc: 0.001 in place of a last sigma of 0, as in ComfyUI).
 */
export async function ksample(model: SamplingModel, options: KSampleOptions): Promise<Float32Array> {
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
  const samples = await runSampler(sampler, model, x, sigmas, options);
  // 5.
  const out = inverseNoiseScaling(sampler.inverseScalingSigma?.(sigmas) ?? sigmas[sigmas.length - 1]!, samples);
  return latentFormat ? processLatentOut(out, latentFormat) : out;
}
