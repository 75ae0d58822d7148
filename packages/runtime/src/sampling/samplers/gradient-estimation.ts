/**
 * Gradient estimation (Permenter and Yuan, "Interpreting and improving diffusion models from an optimization
 * perspective"), ComfyUI's sample_gradient_estimation with ge_gamma 2, and its CFG++ form.
 */

import {
  checkSigmas,
  evaluate,
  evaluateGuided,
  f,
  guided,
  plain,
  report,
  type Denoiser,
  type GuidedDenoiser,
  type GuidedPrediction,
  type SamplerOptions,
} from './common.ts';
import type { SamplerFamily } from './names.ts';

/** Options of the gradient-estimation samplers. */
export interface GradientEstimationOptions extends SamplerOptions {
  /** ComfyUI's ge_gamma, 2 by default. */
  geGamma?: number;
}

/**
 * Per step: d = (x - D)/s (CFG++: (x - U)/s); s' = 0: x = D; else Euler (CFG++: x = D + d s') and from the second
 * step on x += (gamma - 1)(d - d_prev)(s' - s).
 */
async function gradientEstimation(
  model: (x: Float32Array, sigma: number) => Promise<GuidedPrediction>,
  x0: Float32Array,
  sigmas: readonly number[],
  options: GradientEstimationOptions,
  cfgPp: boolean,
): Promise<Float32Array> {
  const gamma1 = f((options.geGamma ?? 2) - 1);
  const n = x0.length;
  let x = x0;
  let oldD: Float32Array | null = null;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const s = f(sigmas[i]!);
    const sn = f(sigmas[i + 1]!);
    const { denoised: den, uncondDenoised: unc } = await model(x, s);
    const lead = cfgPp ? unc : den;
    const d = new Float32Array(n);
    for (let k = 0; k < n; k++) d[k] = f(x[k]! - lead[k]!) / s;
    await report(options, i, sigmas, x, den);
    const dt = f(sn - s);
    let next: Float32Array;
    if (sn === 0) {
      next = Float32Array.from(den);
    } else {
      next = new Float32Array(n);
      for (let k = 0; k < n; k++) next[k] = cfgPp ? den[k]! + f(d[k]! * sn) : x[k]! + f(d[k]! * dt);
      if (i >= 1 && oldD) {
        for (let k = 0; k < n; k++) next[k] = next[k]! + f(f(gamma1 * f(d[k]! - oldD[k]!)) * dt);
      }
    }
    oldD = d;
    x = next;
  }
  return x;
}

/** gradient_estimation. */
export async function sampleGradientEstimation(
  denoise: Denoiser,
  x0: Float32Array,
  sigmas: readonly number[],
  options: GradientEstimationOptions = {},
) {
  checkSigmas('sampleGradientEstimation', x0, sigmas);
  const model = async (x: Float32Array, sigma: number) => {
    const d = await evaluate(denoise, x, sigma, options.signal);
    return { denoised: d, uncondDenoised: d };
  };
  return gradientEstimation(model, x0, sigmas, options, false);
}

/** gradient_estimation_cfg_pp. */
export async function sampleGradientEstimationCfgPp(
  denoise: GuidedDenoiser,
  x0: Float32Array,
  sigmas: readonly number[],
  options: GradientEstimationOptions = {},
) {
  checkSigmas('sampleGradientEstimationCfgPp', x0, sigmas);
  return gradientEstimation((x, sigma) => evaluateGuided(denoise, x, sigma, options.signal), x0, sigmas, options, true);
}

export const GRADIENT_ESTIMATION_SAMPLERS: SamplerFamily = {
  gradient_estimation: plain(sampleGradientEstimation),
  gradient_estimation_cfg_pp: guided(sampleGradientEstimationCfgPp),
};
