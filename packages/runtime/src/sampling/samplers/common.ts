/**
 * What every sampler shares: the model and noise callback types, options, and the small checks and hooks around
 * each model call. Samplers live one family per file beside this one; `../samplers.ts` is the registry.
 *
 * Conventions: `x` is the flattened latent (float32, the model's layout), `sigmas` is a descending schedule
 * (usually ending in 0), `denoise(x, sigma)` returns the model's denoised prediction D. For a velocity model
 * v(x, sigma), D = x - v * sigma ({@link denoiserFromVelocity}).
 *
 * Arithmetic follows ComfyUI's float32 tensor expressions operation by operation (sigmas are float32 0-dim tensors
 * there, so even the per-step coefficients are rounded to float32), which makes the results equal to ComfyUI on
 * the CPU for the same model outputs; each sampler's file says where that stops being bit for bit.
 */

import { TorchGenerator } from '../../noise/torch-randn.ts';

/** Rounds to float32, as every tensor operation in ComfyUI does. */
export const f = Math.fround;

/** The model as samplers see it: latent and sigma in, denoised prediction D out (same length as x). */
export type Denoiser = (x: Float32Array, sigma: number) => Promise<Float32Array>;
/** A flow model: latent and sigma (== timestep) in, velocity out. */
export type VelocityModel = (x: Float32Array, sigma: number) => Promise<Float32Array>;
/** Noise for the ancestral/LCM steps: one standard-normal draw of `length` values per call. */
export type NoiseSampler = (sigma: number, sigmaNext: number, length: number) => Float32Array;

/** What a step callback sees (ComfyUI's callback dict): arrays are live, copy them before keeping them. */
export interface SamplerStep {
  /** Step index, 0-based. */
  i: number;
  /** Total number of steps (sigmas.length - 1). */
  total: number;
  sigma: number;
  sigmaNext: number;
  /** The latent the model was evaluated at. */
  x: Float32Array;
  /** The model's denoised prediction at this step (useful for previews). */
  denoised: Float32Array;
}

/** Options every sampler takes. */
export interface SamplerOptions {
  /** Called once per step, after the model call; awaited, so it may send progress or previews. */
  callback?: (step: SamplerStep) => void | Promise<void>;
  /** Aborts between model calls with the signal's reason. */
  signal?: AbortSignal;
}

/** Options of the samplers that add noise (euler_ancestral, lcm). */
export interface NoisySamplerOptions extends SamplerOptions {
  /**
   * Seed of ComfyUI's default_noise_sampler: a CPU torch.Generator seeded with the KSampler seed, one new
   * randn(x.shape) per noisy step. (On a GPU ComfyUI draws from CUDA's Philox instead; this reproduces CPU runs.)
   */
  seed?: number | bigint;
  /** Overrides the seeded default noise sampler. */
  noiseSampler?: NoiseSampler;
}

/** Options of euler_ancestral. */
export interface AncestralOptions extends NoisySamplerOptions {
  /** Ancestral strength; 1 (default) is ComfyUI's default. */
  eta?: number;
  /** Noise multiplier (s_noise), 1 by default. */
  sNoise?: number;
}

/** A sampler function: same shape for all of them. */
export type Sampler = (
  denoise: Denoiser,
  x: Float32Array,
  sigmas: readonly number[],
  options?: AncestralOptions,
) => Promise<Float32Array>;

/**
 * One CFG evaluation as ComfyUI's post-CFG hook sees it: the guided prediction and the unconditional prediction it
 * was made from (`uncond_denoised`).
 */
export interface GuidedPrediction {
  denoised: Float32Array;
  uncondDenoised: Float32Array;
}

/**
 * The model as the CFG++ samplers see it. ComfyUI sets `disable_cfg1_optimization` for them, so the negative is
 * evaluated even at cfg 1 (see `cfgGuidance` in ../ksampler.ts).
 */
export type GuidedDenoiser = (x: Float32Array, sigma: number) => Promise<GuidedPrediction>;

/** A CFG++ sampler: like {@link Sampler} over a {@link GuidedDenoiser}. */
export type GuidedSampler = (
  denoise: GuidedDenoiser,
  x: Float32Array,
  sigmas: readonly number[],
  options?: AncestralOptions,
) => Promise<Float32Array>;

/**
 * A registry entry: which model interface the sampler needs, and the function. `inverseScalingSigma` gives the sigma
 * KSampler's final inverse noise scaling uses when it is not the schedule's last one (uni_pc writes 0.001 there).
 */
export type SamplerImplementation = (
  | { kind: 'plain'; sample: Sampler }
  | { kind: 'guided'; sample: GuidedSampler }
) & { inverseScalingSigma?: (sigmas: readonly number[]) => number };

/** Registry entry of a sampler over a plain {@link Denoiser}. */
export const plain = (sample: Sampler): SamplerImplementation => ({ kind: 'plain', sample });
/** Registry entry of a CFG++ sampler. */
export const guided = (sample: GuidedSampler): SamplerImplementation => ({ kind: 'guided', sample });

/**
 * Wraps a velocity model as a CONST denoiser: D = x - v * sigma (float32).
 *
 * @example
 * const denoise = denoiserFromVelocity(async (x, s) => runFlux(x, s));
 * const out = await sampleEuler(denoise, noised, sigmas);
 */
export function denoiserFromVelocity(model: VelocityModel): Denoiser {
  return async (x, sigma) => {
    const v = await model(x, sigma);
    checkLength('velocity model', v, x.length);
    const s = Math.fround(sigma);
    const out = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = x[i]! - Math.fround(v[i]! * s);
    return out;
  };
}

/**
 * ComfyUI's default_noise_sampler on the CPU: a generator seeded once, a fresh randn per call.
 */
export function defaultNoiseSampler(seed: number | bigint): NoiseSampler {
  const gen = new TorchGenerator(seed);
  return (_sigma, _sigmaNext, length) => gen.randn([length]);
}

export function checkLength(what: string, a: Float32Array, n: number): void {
  if (a.length !== n) throw new RangeError(`${what} returned ${a.length} values for a latent of ${n}`);
}

export function checkSigmas(fn: string, x: Float32Array, sigmas: readonly number[]): void {
  if (!(x instanceof Float32Array)) throw new TypeError(`${fn}: x must be a Float32Array`);
  for (let i = 0; i < sigmas.length; i++) {
    const s = sigmas[i]!;
    if (!Number.isFinite(s) || s < 0) {
      throw new RangeError(`${fn}: sigmas[${i}] = ${s}; pass finite, non-negative sigmas (use ksamplerSigmas)`);
    }
  }
}

export async function evaluate(
  denoise: Denoiser,
  x: Float32Array,
  sigma: number,
  signal: AbortSignal | undefined,
): Promise<Float32Array> {
  signal?.throwIfAborted();
  const d = await denoise(x, sigma);
  checkLength('denoiser', d, x.length);
  return d;
}

/** {@link evaluate} for a {@link GuidedDenoiser}. */
export async function evaluateGuided(
  denoise: GuidedDenoiser,
  x: Float32Array,
  sigma: number,
  signal: AbortSignal | undefined,
): Promise<GuidedPrediction> {
  signal?.throwIfAborted();
  const p = await denoise(x, sigma);
  checkLength('denoiser', p.denoised, x.length);
  checkLength('denoiser (unconditional)', p.uncondDenoised, x.length);
  return p;
}

export async function report(
  options: SamplerOptions,
  i: number,
  sigmas: readonly number[],
  x: Float32Array,
  denoised: Float32Array,
): Promise<void> {
  if (options.callback) {
    await options.callback({ i, total: sigmas.length - 1, sigma: sigmas[i]!, sigmaNext: sigmas[i + 1]!, x, denoised });
  }
}
