/**
 * RES multistep (Zhang et al., arXiv 2308.02157, the second-order multistep exponential integrator) in ComfyUI's
 * four forms: res_multistep (eta 0), res_multistep_ancestral (eta 1, VE ancestral step even for CONST models) and
 * their CFG++ forms, which step from the unconditional prediction.
 */

import {
  checkSigmas,
  evaluate,
  evaluateGuided,
  f,
  guided,
  plain,
  report,
  type AncestralOptions,
  type Denoiser,
  type GuidedDenoiser,
  type GuidedPrediction,
} from './common.ts';
import type { SamplerFamily } from './names.ts';
import { ancestralStep, checkEta, eulerStep, nanToNum, noiseSource, sigmaOfT, tOfSigma } from './steps.ts';

/**
 * One run of ComfyUI's res_multistep. Per step, with (down, up) = ancestral step(s, s', eta):
 * 1. down 0 or first step: Euler to down (CFG++: x = D + down (x - U)/s).
 * 2. Else t = -log s, t_old = -log down_prev, t' = -log down, t_prev = -log s_prev, h = t' - t,
 *    c2 = (t_prev - t_old)/h, phi1(-h), phi2(-h), b1 = nan_to_num(phi1 - phi2/c2), b2 = nan_to_num(phi2/c2);
 *    x = e^{-h} x + h (b1 D + b2 D_old) (CFG++: x += D - U first, then U in place of D).
 * 3. s' > 0: x += eps s_noise up (the draw happens even at eta 0, where up is 0; it is skipped here, same result).
 * D_old is D (CFG++: U) of the previous step.
 */
async function resMultistep(
  model: (x: Float32Array, sigma: number) => Promise<GuidedPrediction>,
  x0: Float32Array,
  sigmas: readonly number[],
  options: AncestralOptions,
  eta: number,
  cfgPp: boolean,
): Promise<Float32Array> {
  const sN = f(options.sNoise ?? 1);
  const noise = noiseSource(options);
  const n = x0.length;
  let x = x0;
  let oldDenoised: Float32Array | null = null;
  let oldDown = 0;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const s = f(sigmas[i]!);
    const sn = f(sigmas[i + 1]!);
    const { denoised: den, uncondDenoised: unc } = await model(x, s);
    const { down, up } = ancestralStep(s, sn, eta);
    await report(options, i, sigmas, x, den);
    let next: Float32Array;
    if (down === 0 || oldDenoised === null) {
      // 1.
      if (cfgPp) {
        next = new Float32Array(n);
        for (let k = 0; k < n; k++) next[k] = den[k]! + f(f(f(x[k]! - unc[k]!) / s) * down);
      } else {
        next = eulerStep(x, den, s, f(down - s));
      }
    } else {
      // 2.
      next = new Float32Array(n);
      const t = tOfSigma(s);
      const h = f(tOfSigma(down) - t);
      const c2 = f(f(tOfSigma(f(sigmas[i - 1]!)) - tOfSigma(oldDown)) / h);
      const phi1 = f(f(Math.expm1(-h)) / -h);
      const phi2 = f(f(phi1 - 1) / -h);
      const b1 = nanToNum(f(phi1 - f(phi2 / c2)));
      const b2 = nanToNum(f(phi2 / c2));
      const decay = sigmaOfT(h);
      const lead = cfgPp ? unc : den;
      for (let k = 0; k < n; k++) {
        const xk = cfgPp ? f(x[k]! + f(den[k]! - unc[k]!)) : x[k]!;
        next[k] = f(decay * xk) + f(h * f(f(b1 * lead[k]!) + f(b2 * oldDenoised[k]!)));
      }
    }
    // 3.
    if (sn > 0 && up !== 0) {
      const eps = noise(s, sn, n);
      for (let k = 0; k < n; k++) next[k] = next[k]! + f(f(eps[k]! * sN) * up);
    }
    oldDenoised = cfgPp ? unc : den;
    oldDown = down;
    x = next;
  }
  return x;
}

const plainModel = (denoise: Denoiser, signal: AbortSignal | undefined) => async (x: Float32Array, sigma: number) => {
  const d = await evaluate(denoise, x, sigma, signal);
  return { denoised: d, uncondDenoised: d };
};
const guidedModel = (denoise: GuidedDenoiser, signal: AbortSignal | undefined) => (x: Float32Array, sigma: number) =>
  evaluateGuided(denoise, x, sigma, signal);

/** res_multistep: the deterministic form (eta 0). */
export async function sampleResMultistep(denoise: Denoiser, x0: Float32Array, sigmas: readonly number[], options: AncestralOptions = {}) {
  checkSigmas('sampleResMultistep', x0, sigmas);
  return resMultistep(plainModel(denoise, options.signal), x0, sigmas, options, 0, false);
}

/** res_multistep_cfg_pp: the deterministic CFG++ form. */
export async function sampleResMultistepCfgPp(
  denoise: GuidedDenoiser,
  x0: Float32Array,
  sigmas: readonly number[],
  options: AncestralOptions = {},
) {
  checkSigmas('sampleResMultistepCfgPp', x0, sigmas);
  return resMultistep(guidedModel(denoise, options.signal), x0, sigmas, options, 0, true);
}

/** res_multistep_ancestral: eta 1 by default, noise from ComfyUI's default noise sampler. */
export async function sampleResMultistepAncestral(
  denoise: Denoiser,
  x0: Float32Array,
  sigmas: readonly number[],
  options: AncestralOptions = {},
) {
  checkSigmas('sampleResMultistepAncestral', x0, sigmas);
  const eta = options.eta ?? 1;
  checkEta('sampleResMultistepAncestral', eta);
  return resMultistep(plainModel(denoise, options.signal), x0, sigmas, options, eta, false);
}

/** res_multistep_ancestral_cfg_pp. */
export async function sampleResMultistepAncestralCfgPp(
  denoise: GuidedDenoiser,
  x0: Float32Array,
  sigmas: readonly number[],
  options: AncestralOptions = {},
) {
  checkSigmas('sampleResMultistepAncestralCfgPp', x0, sigmas);
  const eta = options.eta ?? 1;
  checkEta('sampleResMultistepAncestralCfgPp', eta);
  return resMultistep(guidedModel(denoise, options.signal), x0, sigmas, options, eta, true);
}

export const RES_MULTISTEP_SAMPLERS: SamplerFamily = {
  res_multistep: plain(sampleResMultistep),
  res_multistep_cfg_pp: guided(sampleResMultistepCfgPp),
  res_multistep_ancestral: plain(sampleResMultistepAncestral),
  res_multistep_ancestral_cfg_pp: guided(sampleResMultistepAncestralCfgPp),
};
