/** Heun's second-order method (Karras et al. 2022, Algorithm 2 with s_churn 0). */

import { checkSigmas, evaluate, f, plain, report, type Denoiser, type SamplerOptions } from './common.ts';
import type { SamplerFamily } from './names.ts';

/**
 * Heun (2nd order, s_churn 0): Euler predictor to sigma_next, then the average slope; the last step (to 0) is Euler.
 * Two model calls per step except the last.
 */
export async function sampleHeun(
  denoise: Denoiser,
  x0: Float32Array,
  sigmas: readonly number[],
  options: SamplerOptions = {},
): Promise<Float32Array> {
  checkSigmas('sampleHeun', x0, sigmas);
  let x = x0;
  const n = x0.length;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const s = f(sigmas[i]!);
    const sn = f(sigmas[i + 1]!);
    const den = await evaluate(denoise, x, s, options.signal);
    await report(options, i, sigmas, x, den);
    const dt = f(sn - s);
    const d = new Float32Array(n);
    for (let k = 0; k < n; k++) d[k] = f(x[k]! - den[k]!) / s;
    const x2 = new Float32Array(n);
    for (let k = 0; k < n; k++) x2[k] = x[k]! + f(d[k]! * dt);
    if (sn === 0) {
      x = x2;
      continue;
    }
    const den2 = await evaluate(denoise, x2, sn, options.signal);
    const next = new Float32Array(n);
    for (let k = 0; k < n; k++) {
      const d2 = f(f(x2[k]! - den2[k]!) / sn);
      next[k] = x[k]! + f(f(f(d[k]! + d2) / 2) * dt);
    }
    x = next;
  }
  return x;
}

export const HEUN_SAMPLERS: SamplerFamily = {
  heun: plain(sampleHeun),
};
