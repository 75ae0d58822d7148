/** Euler and Euler ancestral (the rectified-flow form ComfyUI uses for CONST models). */

import {
  checkLength,
  checkSigmas,
  defaultNoiseSampler,
  evaluate,
  f,
  plain,
  report,
  type AncestralOptions,
  type Denoiser,
  type SamplerOptions,
} from './common.ts';
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
    const dt = f(sn - s);
    const next = new Float32Array(x.length);
    // x + ((x - D) / s) * dt
    for (let k = 0; k < x.length; k++) next[k] = x[k]! + f(f(f(x[k]! - den[k]!) / s) * dt);
    x = next;
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
  const sNoise = options.sNoise ?? 1;
  if (!(eta >= 0)) throw new RangeError(`sampleEulerAncestral: eta must be >= 0, got ${eta}`);
  const noise = options.noiseSampler ?? defaultNoiseSampler(options.seed ?? 0);
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
    // 2. Down-step and re-noise coefficients, each a float32 0-dim tensor op in ComfyUI.
    const downRatio = f(1 + f(f(f(sn / s) - 1) * f(eta)));
    const sd = f(sn * downRatio);
    const a1 = f(1 - sn);
    const ad = f(1 - sd);
    const c = f(Math.sqrt(f(f(sn * sn) - f(f(f(sd * sd) * f(a1 * a1)) / f(ad * ad)))));
    // 3. Euler to sigma_down, then scale up and add fresh noise.
    const r = f(sd / s);
    const oneMinusR = f(1 - r);
    const scale = f(a1 / ad);
    const eps = eta > 0 ? noise(s, sn, x.length) : null;
    if (eps) checkLength('noise sampler', eps, x.length);
    const sN = f(sNoise);
    const next = new Float32Array(x.length);
    for (let k = 0; k < x.length; k++) {
      const y = f(f(r * x[k]!) + f(oneMinusR * den[k]!));
      next[k] = eps ? f(scale * y) + f(f(eps[k]! * sN) * c) : y;
    }
    x = next;
  }
  return x;
}

export const EULER_SAMPLERS: SamplerFamily = {
  euler: plain(sampleEuler),
  euler_ancestral: plain(sampleEulerAncestral),
};
