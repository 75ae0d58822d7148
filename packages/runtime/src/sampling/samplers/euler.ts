/**
 * Euler, Euler ancestral (the rectified-flow form ComfyUI uses for CONST models), their CFG++ forms, and ddim
 * (ComfyUI's ddim is Euler; its only difference, fresh inpainting noise, concerns masks).
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
  type SamplerOptions,
} from './common.ts';
import { ancestralStep, checkEta, eulerStep, noiseSource, rfAncestralStep, rfRenoise } from './steps.ts';
import type { SamplerFamily } from './names.ts';

/**
 * Euler (s_churn 0): d = (x - D) / sigma, x += d * (sigma_next - sigma).
 */
export async function sampleEuler(
  denoise: Denoiser,
  x0: Float32Array,
  sigmas: readonly number[],
  options: SamplerOptions = {},
): Promise<Float32Array> {
  checkSigmas('sampleEuler', x0, sigmas);
  let x = x0;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const s = f(sigmas[i]!);
    const sn = f(sigmas[i + 1]!);
    const den = await evaluate(denoise, x, s, options.signal);
    await report(options, i, sigmas, x, den);
    x = eulerStep(x, den, s, f(sn - s));
  }
  return x;
}

/**
 * Euler ancestral, rectified-flow variant (ComfyUI uses it for CONST models). Per step, with s = sigma_i,
 * s' = sigma_{i+1}:
 * 1. s' == 0: x = D.
 * 2. sd = s' (1 + (s'/s - 1) eta); a1 = 1 - s'; ad = 1 - sd; c = sqrt(s'^2 - sd^2 a1^2 / ad^2).
 * 3. x = (sd/s) x + (1 - sd/s) D, then (eta > 0) x = (a1/ad) x + eps * s_noise * c, eps a fresh standard normal.
 */
export async function sampleEulerAncestral(
  denoise: Denoiser,
  x0: Float32Array,
  sigmas: readonly number[],
  options: AncestralOptions = {},
): Promise<Float32Array> {
  checkSigmas('sampleEulerAncestral', x0, sigmas);
  const eta = options.eta ?? 1;
  checkEta('sampleEulerAncestral', eta);
  const noise = noiseSource(options);
  let x = x0;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const s = f(sigmas[i]!);
    const sn = f(sigmas[i + 1]!);
    const den = await evaluate(denoise, x, s, options.signal);
    await report(options, i, sigmas, x, den);
    // 1. Last step lands on the prediction.
    if (sn === 0) {
      x = Float32Array.from(den);
      continue;
    }
    // 2. Euler to sigma_down (the step's coefficients are each a float32 0-dim tensor op in ComfyUI).
    const step = rfAncestralStep(s, sn, eta);
    const r = f(step.down / s);
    const oneMinusR = f(1 - r);
    const moved = new Float32Array(x.length);
    for (let k = 0; k < x.length; k++) moved[k] = f(f(r * x[k]!) + f(oneMinusR * den[k]!));
    // 3. Scale up and add fresh noise.
    x = eta > 0 ? rfRenoise(moved, step, noise(s, sn, x.length), options.sNoise ?? 1) : moved;
  }
  return x;
}

/** alpha = sigma exp(half-logSNR) for CONST models, half-logSNR = -logit(sigma) (0 at sigma 1). */
function constAlpha(sigma: number): number {
  const logit = f(Math.log(f(sigma / f(1 - sigma))));
  return f(sigma * f(Math.exp(-logit)));
}

/**
 * Euler ancestral CFG++ (ComfyUI's sample_euler_ancestral_cfg_pp): the step direction comes from the unconditional
 * prediction, the landing point from the guided one. With alpha_s = s exp(lambda(s)) (lambda = -logit for CONST):
 * 1. s' == 0: x = D.
 * 2. d = (x - alpha_s U) / s; (down, up) = ancestral step from s/alpha_s to s'/alpha_s' (VE form); down *= alpha_s'.
 * 3. x = alpha_s' D + down d, then (eta > 0 and s_noise > 0) x += alpha_s' eps s_noise up.
 */
export async function sampleEulerAncestralCfgPp(
  denoise: GuidedDenoiser,
  x0: Float32Array,
  sigmas: readonly number[],
  options: AncestralOptions = {},
): Promise<Float32Array> {
  checkSigmas('sampleEulerAncestralCfgPp', x0, sigmas);
  const eta = options.eta ?? 1;
  const sNoise = options.sNoise ?? 1;
  checkEta('sampleEulerAncestralCfgPp', eta);
  const noise = noiseSource(options);
  const n = x0.length;
  let x = x0;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const s = f(sigmas[i]!);
    const sn = f(sigmas[i + 1]!);
    const { denoised: den, uncondDenoised: unc } = await evaluateGuided(denoise, x, s, options.signal);
    await report(options, i, sigmas, x, den);
    // 1.
    if (sn === 0) {
      x = Float32Array.from(den);
      continue;
    }
    // 2.
    const alphaS = constAlpha(s);
    const alphaT = constAlpha(sn);
    const step = ancestralStep(f(s / alphaS), f(sn / alphaT), eta);
    const down = f(alphaT * step.down);
    // 3.
    const eps = eta > 0 && sNoise > 0 ? noise(s, sn, n) : null;
    const sN = f(sNoise);
    const next = new Float32Array(n);
    for (let k = 0; k < n; k++) {
      const d = f(f(x[k]! - f(alphaS * unc[k]!)) / s);
      const y = f(f(alphaT * den[k]!) + f(down * d));
      next[k] = eps ? y + f(f(f(alphaT * eps[k]!) * sN) * step.up) : y;
    }
    x = next;
  }
  return x;
}

/** Euler CFG++: euler_ancestral_cfg_pp with eta 0 and s_noise 0, as ComfyUI defines it. */
export function sampleEulerCfgPp(
  denoise: GuidedDenoiser,
  x0: Float32Array,
  sigmas: readonly number[],
  options: SamplerOptions = {},
): Promise<Float32Array> {
  return sampleEulerAncestralCfgPp(denoise, x0, sigmas, { ...options, eta: 0, sNoise: 0 });
}

export const EULER_SAMPLERS: SamplerFamily = {
  euler: plain(sampleEuler),
  euler_cfg_pp: guided(sampleEulerCfgPp),
  euler_ancestral: plain(sampleEulerAncestral),
  euler_ancestral_cfg_pp: guided(sampleEulerAncestralCfgPp),
  ddim: plain(sampleEuler),
};
