/** DPM-Solver++ multistep samplers (Lu et al. 2022) in ComfyUI's form. */

import { checkSigmas, evaluate, f, plain, report, type Denoiser, type SamplerOptions } from './common.ts';
import type { SamplerFamily } from './names.ts';

/**
 * DPM-Solver++(2M). With t = -ln(sigma) and h = t_next - t:
 * x = (sigma_next/sigma) x - expm1(-h) D', where D' = D on the first step and when sigma_next = 0, else
 * D' = (1 + 1/(2r)) D - (1/(2r)) D_prev with r = h_prev / h.
 */
export async function sampleDpmpp2m(
  denoise: Denoiser,
  x0: Float32Array,
  sigmas: readonly number[],
  options: SamplerOptions = {},
): Promise<Float32Array> {
  checkSigmas('sampleDpmpp2m', x0, sigmas);
  let x = x0;
  let oldDenoised: Float32Array | null = null;
  const n = x0.length;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const s = f(sigmas[i]!);
    const sn = f(sigmas[i + 1]!);
    const den = await evaluate(denoise, x, s, options.signal);
    await report(options, i, sigmas, x, den);
    // t = -log(sigma) and sigma(t) = exp(-t) as float32 libm calls; sigma_next = 0 gives t = inf, ratio 0 and
    // expm1(-inf) = -1, i.e. x = D, through the same formula.
    const t = -f(Math.log(s));
    const tn = -f(Math.log(sn));
    const h = f(tn - t);
    const ratio = f(f(Math.exp(-tn)) / f(Math.exp(-t)));
    const em = f(Math.expm1(-h));
    const next = new Float32Array(n);
    if (oldDenoised === null || sn === 0) {
      for (let k = 0; k < n; k++) next[k] = f(ratio * x[k]!) - f(em * den[k]!);
    } else {
      const hLast = f(t + f(Math.log(f(sigmas[i - 1]!))));
      const r = f(hLast / h);
      const inv = f(1 / f(2 * r));
      const a = f(1 + inv);
      for (let k = 0; k < n; k++) {
        const dd = f(f(a * den[k]!) - f(inv * oldDenoised[k]!));
        next[k] = f(ratio * x[k]!) - f(em * dd);
      }
    }
    oldDenoised = den;
    x = next;
  }
  return x;
}

export const DPMPP_SAMPLERS: SamplerFamily = {
  dpmpp_2m: plain(sampleDpmpp2m),
};
