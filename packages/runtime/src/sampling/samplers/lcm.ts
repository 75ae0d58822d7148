/** LCM: jump to the prediction, re-noise to the next sigma. */

import {
  checkLength,
  checkSigmas,
  defaultNoiseSampler,
  evaluate,
  f,
  plain,
  report,
  type Denoiser,
  type NoisySamplerOptions,
} from './common.ts';
import type { SamplerFamily } from './names.ts';

/**
 * LCM: x = D, then (unless sigma_next is 0) re-noise to sigma_next with CONST noise scaling:
 * x = sigma_next * eps + (1 - sigma_next) * x.
 */
export async function sampleLcm(
  denoise: Denoiser,
  x0: Float32Array,
  sigmas: readonly number[],
  options: NoisySamplerOptions = {},
): Promise<Float32Array> {
  checkSigmas('sampleLcm', x0, sigmas);
  const noise = options.noiseSampler ?? defaultNoiseSampler(options.seed ?? 0);
  let x = x0;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const s = f(sigmas[i]!);
    const sn = f(sigmas[i + 1]!);
    const den = await evaluate(denoise, x, s, options.signal);
    await report(options, i, sigmas, x, den);
    if (sn > 0) {
      const eps = noise(s, sn, x.length);
      checkLength('noise sampler', eps, x.length);
      const sf = f(sn);
      const keep = f(1 - sf);
      const next = new Float32Array(x.length);
      for (let k = 0; k < x.length; k++) next[k] = f(sf * eps[k]!) + f(keep * den[k]!);
      x = next;
    } else {
      x = Float32Array.from(den);
    }
  }
  return x;
}

export const LCM_SAMPLERS: SamplerFamily = {
  lcm: plain(sampleLcm),
};
