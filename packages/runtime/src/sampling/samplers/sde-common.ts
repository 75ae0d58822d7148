/**
 * What ComfyUI's SDE samplers share for CONST (flow) models: the half-log-SNR time, the offset of a first sigma of 1,
 * the Brownian-tree noise sampler (BrownianTreeNoiseSampler) and the options KSampler can set.
 *
 * Scalars follow torch's float32 0-dim tensor arithmetic; log/exp/expm1 are evaluated in double and rounded, which
 * equals glibc's float functions except in rare last bits.
 */

import { BrownianTree } from '../../noise/brownian-tree.ts';
import { percentToSigma as fluxPercentToSigma } from '../../schedule/flux-sigmas.ts';
import { checkLength, defaultNoiseSampler, f, type AncestralOptions, type NoiseSampler } from './common.ts';

/**
 * Options of the SDE samplers (all optional; the defaults are what ComfyUI's KSampler uses). The Brownian-tree
 * samplers always draw from the tree (`noiseSampler` is for the default-noise ones); `noiseLayout` serves both.
 */
export interface SdeSamplerOptions extends AncestralOptions {
  /**
   * model_sampling.percent_to_sigma of the model: FLUX.1-dev's ModelSamplingFlux (shift 1.15) by default. Used to
   * move a first sigma of 1 off the logSNR singularity and by sa_solver's stochastic window.
   */
  percentToSigma?: (percent: number) => number;
  /**
   * Maps noise drawn in ComfyUI's latent layout ([B, C, H, W] order) to the sampler's layout (for example packed
   * tokens), so that seeded noise lands where ComfyUI puts it. Identity by default.
   */
  noiseLayout?: (noise: Float32Array) => Float32Array;
}

/** Half-log-SNR of a CONST model, log((1 - sigma) / sigma) = -logit(sigma), as torch's float32 logit gives it. */
export function halfLogSnr(sigma: number): number {
  const s = f(sigma);
  if (s === 1) return -Infinity;
  return -f(Math.log(f(s / f(1 - s))));
}

/** Inverse of {@link halfLogSnr}: sigmoid(-lambda) = 1 / (1 + e^lambda), in float32. */
export function sigmaOfHalfLogSnr(lambda: number): number {
  return f(1 / f(1 + f(Math.exp(lambda))));
}

/** offset_first_sigma_for_snr: a first sigma >= 1 becomes percent_to_sigma(1e-4) (float32), the rest is kept. */
export function offsetFirstSigma(sigmas: readonly number[], percentToSigma: (percent: number) => number): number[] {
  const out = sigmas.map((s) => f(s));
  if (out.length > 1 && out[0]! >= 1) out[0] = f(percentToSigma(1e-4));
  return out;
}

/** The options' percent_to_sigma, FLUX.1-dev's by default. */
export function percentToSigmaOf(options: SdeSamplerOptions): (percent: number) => number {
  return options.percentToSigma ?? ((p) => fluxPercentToSigma(p));
}

/**
 * ComfyUI's BrownianTreeNoiseSampler (identity transform, one tree seeded with the KSampler seed) over the
 * sampler's schedule: the tree spans [smallest positive sigma, largest sigma] and a call (sigma, sigma_next) returns
 * (W(sigma_next) - W(sigma)) / sqrt|sigma_next - sigma|, a standard normal per element.
 *
 * The normals are torch's CPU stream, which is where ComfyUI builds the tree for dpmpp_sde / 2m_sde / 3m_sde. Their
 * _gpu variants build it on the sampling device: on a CPU device that is the same stream, while on CUDA the tree's
 * normals come from CUDA's Philox generator, which this runtime does not reproduce (the tree, seeds and arithmetic
 * are the same; the normals are other samples of the same distribution).
 *
 * @example
 * const noise = brownianTreeNoiseSampler(x.length, sigmas, { seed: 42n });
 * const eps = noise(sigmas[0], sigmas[1], x.length); // ~ N(0, 1) per element, fixed by the seed
 */
export function brownianTreeNoiseSampler(length: number, sigmas: readonly number[], options: SdeSamplerOptions): NoiseSampler {
  const positive = sigmas.filter((s) => s > 0).map((s) => f(s));
  const sigmaMin = positive.length > 0 ? Math.min(...positive) : 0;
  const sigmaMax = Math.max(...sigmas.map((s) => f(s)));
  let tree: BrownianTree | null = null;
  const layout = options.noiseLayout;
  return (sigma, sigmaNext, n) => {
    if (n !== length) throw new RangeError(`Brownian noise sampler: asked for ${n} values, built for ${length}`);
    tree ??= new BrownianTree(sigmaMin, sigmaMax, length, options.seed ?? 0);
    const a = f(sigma);
    const b = f(sigmaNext);
    // BatchedBrownianTree sorts the pair and flips the sign for a descending query.
    const w = a < b ? tree.increment(a, b) : tree.increment(b, a);
    const sign = a < b ? 1 : -1;
    const scale = f(Math.sqrt(Math.abs(f(b - a))));
    const out = new Float32Array(length);
    for (let k = 0; k < length; k++) out[k] = f((w[k]! * sign) / scale);
    return layout ? checked(layout(out), length) : out;
  };
}

/** ComfyUI's default_noise_sampler for the SDE samplers that use it, with the options' layout and override. */
export function seededNoiseSampler(length: number, options: SdeSamplerOptions): NoiseSampler {
  if (options.noiseSampler) return options.noiseSampler;
  const draw = defaultNoiseSampler(options.seed ?? 0);
  const layout = options.noiseLayout;
  return (sigma, sigmaNext, n) => {
    const eps = draw(sigma, sigmaNext, n);
    return layout ? checked(layout(eps), length) : eps;
  };
}

function checked(a: Float32Array, n: number): Float32Array {
  checkLength('noise layout', a, n);
  return a;
}
