/**
 * DPM-Solver++ samplers (Lu et al. 2022) in ComfyUI's forms: 2M, its CFG++ form, and the 2S ancestral sampler
 * (rectified-flow form for CONST models) with its CFG++ form.
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
import { ancestralStep, checkEta, eulerStep, noiseSource, rfAncestralStep, rfRenoise, sigmaOfT, tOfSigma } from './steps.ts';
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

/**
 * DPM-Solver++(2M) CFG++ (ComfyUI's sample_dpmpp_2m_cfg_pp), with U the unconditional prediction:
 * first step or sigma_next 0: mix = -e^{-h} U; else mix = -e^{-h} U - expm1(-h) (1/(2r)) (D - U_prev), r = h_prev/h;
 * x = D + mix + e^{-h} x.
 */
export async function sampleDpmpp2mCfgPp(
  denoise: GuidedDenoiser,
  x0: Float32Array,
  sigmas: readonly number[],
  options: SamplerOptions = {},
): Promise<Float32Array> {
  checkSigmas('sampleDpmpp2mCfgPp', x0, sigmas);
  const n = x0.length;
  let x = x0;
  let oldUncond: Float32Array | null = null;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const s = f(sigmas[i]!);
    const sn = f(sigmas[i + 1]!);
    const { denoised: den, uncondDenoised: unc } = await evaluateGuided(denoise, x, s, options.signal);
    await report(options, i, sigmas, x, den);
    const t = tOfSigma(s);
    const h = f(tOfSigma(sn) - t);
    const decay = f(Math.exp(-h));
    const negDecay = -decay;
    const next = new Float32Array(n);
    if (oldUncond === null || sn === 0) {
      for (let k = 0; k < n; k++) next[k] = f(den[k]! + f(negDecay * unc[k]!)) + f(decay * x[k]!);
    } else {
      const r = f(f(t - tOfSigma(f(sigmas[i - 1]!))) / h);
      const c = f(f(Math.expm1(-h)) * f(1 / f(2 * r)));
      for (let k = 0; k < n; k++) {
        const mix = f(f(negDecay * unc[k]!) - f(c * f(den[k]! - oldUncond[k]!)));
        next[k] = f(den[k]! + mix) + f(decay * x[k]!);
      }
    }
    oldUncond = unc;
    x = next;
  }
  return x;
}

/**
 * DPM-Solver++(2S) ancestral, rectified-flow form (ComfyUI's sample_dpmpp_2s_ancestral_RF for CONST models), with
 * lambda(s) = log((1 - s)/s) and sigma(lambda) = 1/(e^lambda + 1):
 * 1. sigma_next 0: Euler to sigma_down (= 0).
 * 2. Else sigma_s = 0.9999 at s = 1, otherwise sigma(lambda_s + (lambda_down - lambda_s)/2); u = (sigma_s/s) x +
 *    (1 - sigma_s/s) D; x = (down/s) x + (1 - down/s) D(u, sigma_s).
 * 3. sigma_next > 0 and eta > 0: x = (alpha'/alpha_down) x + eps s_noise c.
 */
export async function sampleDpmpp2sAncestral(
  denoise: Denoiser,
  x0: Float32Array,
  sigmas: readonly number[],
  options: AncestralOptions = {},
): Promise<Float32Array> {
  checkSigmas('sampleDpmpp2sAncestral', x0, sigmas);
  const eta = options.eta ?? 1;
  checkEta('sampleDpmpp2sAncestral', eta);
  const sN = f(options.sNoise ?? 1);
  const noise = noiseSource(options);
  const lambdaOf = (sigma: number) => f(Math.log(f(f(1 - sigma) / sigma)));
  const sigmaOfLambda = (lambda: number) => f(1 / f(f(Math.exp(lambda)) + 1));
  const n = x0.length;
  let x = x0;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const s = f(sigmas[i]!);
    const sn = f(sigmas[i + 1]!);
    const den = await evaluate(denoise, x, s, options.signal);
    const step = rfAncestralStep(s, sn, eta);
    await report(options, i, sigmas, x, den);
    let next: Float32Array;
    if (sn === 0) {
      // 1.
      next = eulerStep(x, den, s, f(step.down - s));
    } else {
      // 2. (A Python float 0.9999 divided by a tensor: torch takes the reciprocal first.)
      let sigmaS: number;
      let ratioS: number;
      if (s === 1) {
        sigmaS = f(0.9999);
        ratioS = f(f(1 / s) * sigmaS);
      } else {
        const ls = lambdaOf(s);
        sigmaS = sigmaOfLambda(f(ls + f(0.5 * f(lambdaOf(step.down) - ls))));
        ratioS = f(sigmaS / s);
      }
      const keepS = f(1 - ratioS);
      const u = new Float32Array(n);
      for (let k = 0; k < n; k++) u[k] = f(ratioS * x[k]!) + f(keepS * den[k]!);
      const den2 = await evaluate(denoise, u, sigmaS, options.signal);
      const ratioDown = f(step.down / s);
      const keepDown = f(1 - ratioDown);
      next = new Float32Array(n);
      for (let k = 0; k < n; k++) next[k] = f(ratioDown * x[k]!) + f(keepDown * den2[k]!);
    }
    // 3.
    if (sn > 0 && eta > 0) {
      next = rfRenoise(next, step, noise(s, sn, n), sN);
    }
    x = next;
  }
  return x;
}

/**
 * DPM-Solver++(2S) ancestral CFG++ (ComfyUI's sample_dpmpp_2s_ancestral_cfg_pp; VE ancestral step even for CONST
 * models). With U the unconditional prediction of the latest model call:
 * 1. sigma_down 0: x = D + ((x - U)/s) sigma_down.
 * 2. Else t = -log s, t' = -log sigma_down, h = t' - t, s_mid = t + h/2:
 *    x2 = (sigma(s_mid)/s)(x + D - U) - expm1(-h/2) D; D2 = D(x2, sigma(s_mid)); then, with U now the second
 *    call's (ComfyUI reads its post-CFG slot after that call), x = (sigma_down/s)(x + D - U) - expm1(-h) D2.
 * 3. sigma_next > 0: x += eps s_noise sigma_up.
 */
export async function sampleDpmpp2sAncestralCfgPp(
  denoise: GuidedDenoiser,
  x0: Float32Array,
  sigmas: readonly number[],
  options: AncestralOptions = {},
): Promise<Float32Array> {
  checkSigmas('sampleDpmpp2sAncestralCfgPp', x0, sigmas);
  const eta = options.eta ?? 1;
  checkEta('sampleDpmpp2sAncestralCfgPp', eta);
  const sN = f(options.sNoise ?? 1);
  const noise = noiseSource(options);
  const n = x0.length;
  let x = x0;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const s = f(sigmas[i]!);
    const sn = f(sigmas[i + 1]!);
    const { denoised: den, uncondDenoised: unc } = await evaluateGuided(denoise, x, s, options.signal);
    const { down, up } = ancestralStep(s, sn, eta);
    await report(options, i, sigmas, x, den);
    const next = new Float32Array(n);
    if (down === 0) {
      // 1.
      for (let k = 0; k < n; k++) next[k] = den[k]! + f(f(f(x[k]! - unc[k]!) / s) * down);
    } else {
      // 2.
      const t = tOfSigma(s);
      const tNext = tOfSigma(down);
      const h = f(tNext - t);
      const sMid = sigmaOfT(f(t + f(0.5 * h)));
      const sigmaT = sigmaOfT(t);
      const r1 = f(sMid / sigmaT);
      const e1 = f(Math.expm1(f(-h * 0.5)));
      const x2 = new Float32Array(n);
      for (let k = 0; k < n; k++) x2[k] = f(r1 * f(x[k]! + f(den[k]! - unc[k]!))) - f(e1 * den[k]!);
      const second = await evaluateGuided(denoise, x2, sMid, options.signal);
      const r2 = f(sigmaOfT(tNext) / sigmaT);
      const e2 = f(Math.expm1(-h));
      const unc2 = second.uncondDenoised;
      for (let k = 0; k < n; k++) next[k] = f(r2 * f(x[k]! + f(den[k]! - unc2[k]!))) - f(e2 * second.denoised[k]!);
    }
    // 3.
    if (sn > 0) {
      const eps = noise(s, sn, n);
      for (let k = 0; k < n; k++) next[k] = next[k]! + f(f(eps[k]! * sN) * up);
    }
    x = next;
  }
  return x;
}

export const DPMPP_SAMPLERS: SamplerFamily = {
  dpmpp_2s_ancestral: plain(sampleDpmpp2sAncestral),
  dpmpp_2s_ancestral_cfg_pp: guided(sampleDpmpp2sAncestralCfgPp),
  dpmpp_2m: plain(sampleDpmpp2m),
  dpmpp_2m_cfg_pp: guided(sampleDpmpp2mCfgPp),
};
