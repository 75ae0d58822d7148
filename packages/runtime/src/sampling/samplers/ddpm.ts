/**
 * DDPM ancestral sampling (ComfyUI's sample_ddpm) on the VP view of the sigmas: x_vp = x / sqrt(1 + s^2),
 * alpha_bar = 1/(s^2 + 1). Per step with eps = (x - D)/s, alpha = alpha_bar(s)/alpha_bar(s'):
 * mu = sqrt(1/alpha) (x_vp - (1 - alpha) eps / sqrt(1 - alpha_bar(s))), plus (s' > 0)
 * sqrt((1 - alpha)(1 - alpha_bar(s'))/(1 - alpha_bar(s))) times fresh noise; then x = mu sqrt(1 + s'^2) (s' != 0).
 */

import { checkSigmas, evaluate, f, plain, report, type Denoiser, type NoisySamplerOptions } from './common.ts';
import type { SamplerFamily } from './names.ts';
import { noiseSource } from './steps.ts';

export async function sampleDdpm(
  denoise: Denoiser,
  x0: Float32Array,
  sigmas: readonly number[],
  options: NoisySamplerOptions = {},
): Promise<Float32Array> {
  checkSigmas('sampleDdpm', x0, sigmas);
  const noise = noiseSource(options);
  const n = x0.length;
  let x = x0;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const s = f(sigmas[i]!);
    const sn = f(sigmas[i + 1]!);
    const den = await evaluate(denoise, x, s, options.signal);
    await report(options, i, sigmas, x, den);
    const toVp = f(Math.sqrt(f(1 + f(s * s))));
    const alphaBar = f(1 / f(f(s * s) + 1));
    const alphaBarNext = f(1 / f(f(sn * sn) + 1));
    const alpha = f(alphaBar / alphaBarNext);
    const gain = f(Math.sqrt(f(1 / alpha)));
    const oneMinusAlpha = f(1 - alpha);
    const epsScale = f(Math.sqrt(f(1 - alphaBar)));
    const eps = sn > 0 ? noise(s, sn, n) : null;
    const noiseScale = f(Math.sqrt(f(f(oneMinusAlpha * f(1 - alphaBarNext)) / f(1 - alphaBar))));
    const fromVp = f(Math.sqrt(f(1 + f(sn * sn))));
    const next = new Float32Array(n);
    for (let k = 0; k < n; k++) {
      const xVp = f(x[k]! / toVp);
      const e = f(f(x[k]! - den[k]!) / s);
      let mu = f(gain * f(xVp - f(f(oneMinusAlpha * e) / epsScale)));
      if (eps) mu = f(mu + f(noiseScale * eps[k]!));
      next[k] = sn !== 0 ? f(mu * fromVp) : mu;
    }
    x = next;
  }
  return x;
}

export const DDPM_SAMPLERS: SamplerFamily = {
  ddpm: plain(sampleDdpm),
};
