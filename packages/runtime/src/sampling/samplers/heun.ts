/**
 * Second-order single-step samplers: Heun (Karras et al. 2022, Algorithm 2 with s_churn 0), Heun++ (heunpp2), and
 * DPM-Solver-2 (dpm_2, and dpm_2_ancestral in the rectified-flow form ComfyUI uses for CONST models).
 */

import { checkSigmas, evaluate, f, plain, report, type AncestralOptions, type Denoiser, type SamplerOptions } from './common.ts';
import { checkEta, noiseSource, rfAncestralStep, rfRenoise } from './steps.ts';
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

/** d = (x - D) / sigma, elementwise in float32. */
function slope(x: Float32Array, den: Float32Array, sigma: number): Float32Array {
  const d = new Float32Array(x.length);
  for (let k = 0; k < x.length; k++) d[k] = f(x[k]! - den[k]!) / sigma;
  return d;
}

/** x + d * dt, elementwise in float32. */
function stepped(x: Float32Array, d: Float32Array, dt: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let k = 0; k < x.length; k++) out[k] = x[k]! + f(d[k]! * dt);
  return out;
}

/**
 * Heun++ (heunpp2): Euler predictors through the next one or two sigmas, then a weighted slope.
 * 1. Last step (sigma_next is the final sigma): Euler.
 * 2. Next-to-last: Heun with weights w2 = s'/(2 s_0), w1 = 1 - w2.
 * 3. Otherwise: slopes at s, s', s'' with w2 = s'/(3 s_0), w3 = s''/(3 s_0), w1 = 1 - w2 - w3.
 * Up to three model calls per step. (ComfyUI also draws an unused randn from torch's global generator each step.)
 */
export async function sampleHeunpp2(
  denoise: Denoiser,
  x0: Float32Array,
  sigmas: readonly number[],
  options: SamplerOptions = {},
): Promise<Float32Array> {
  checkSigmas('sampleHeunpp2', x0, sigmas);
  const n = x0.length;
  const end = f(sigmas[sigmas.length - 1]!);
  const s0 = f(sigmas[0]!);
  let x = x0;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const s = f(sigmas[i]!);
    const sn = f(sigmas[i + 1]!);
    const den = await evaluate(denoise, x, s, options.signal);
    await report(options, i, sigmas, x, den);
    const d = slope(x, den, s);
    const dt = f(sn - s);
    const x2 = stepped(x, d, dt);
    // 1.
    if (sn === end) {
      x = x2;
      continue;
    }
    const d2 = slope(x2, await evaluate(denoise, x2, sn, options.signal), sn);
    const snn = f(sigmas[i + 2]!);
    const next = new Float32Array(n);
    if (snn === end) {
      // 2.
      const w2 = f(sn / f(2 * s0));
      const w1 = f(1 - w2);
      for (let k = 0; k < n; k++) next[k] = x[k]! + f(f(f(d[k]! * w1) + f(d2[k]! * w2)) * dt);
    } else {
      // 3.
      const x3 = stepped(x2, d2, f(snn - sn));
      const d3 = slope(x3, await evaluate(denoise, x3, snn, options.signal), snn);
      const w = f(3 * s0);
      const w2 = f(sn / w);
      const w3 = f(snn / w);
      const w1 = f(f(1 - w2) - w3);
      for (let k = 0; k < n; k++) next[k] = x[k]! + f(f(f(f(w1 * d[k]!) + f(w2 * d2[k]!)) + f(w3 * d3[k]!)) * dt);
    }
    x = next;
  }
  return x;
}

/** sigma_mid = exp(lerp(log s, log target, 0.5)) with torch's lerp at weight 0.5: end - (end - start) * 0.5. */
function logMidpoint(s: number, target: number): number {
  const a = f(Math.log(s));
  const b = f(Math.log(target));
  return f(Math.exp(f(b - f(f(b - a) * 0.5))));
}

/**
 * DPM-Solver-2 (dpm_2, s_churn 0): Euler half-step in log sigma to sigma_mid = sqrt(s s'), then the full step with
 * the slope there; the last step (to 0) is Euler. KSampler drops the schedule's penultimate sigma for it.
 */
export async function sampleDpm2(
  denoise: Denoiser,
  x0: Float32Array,
  sigmas: readonly number[],
  options: SamplerOptions = {},
): Promise<Float32Array> {
  checkSigmas('sampleDpm2', x0, sigmas);
  let x = x0;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const s = f(sigmas[i]!);
    const sn = f(sigmas[i + 1]!);
    const den = await evaluate(denoise, x, s, options.signal);
    await report(options, i, sigmas, x, den);
    const d = slope(x, den, s);
    if (sn === 0) {
      x = stepped(x, d, f(sn - s));
      continue;
    }
    const mid = logMidpoint(s, sn);
    const x2 = stepped(x, d, f(mid - s));
    const d2 = slope(x2, await evaluate(denoise, x2, mid, options.signal), mid);
    x = stepped(x, d2, f(sn - s));
  }
  return x;
}

/**
 * DPM-Solver-2 ancestral, rectified-flow form (ComfyUI's sample_dpm_2_ancestral_RF for CONST models): the
 * DPM-Solver-2 step goes to sigma_down of the RF ancestral step, then x = (alpha'/alpha_down) x + eps s_noise c.
 * sigma_down 0 (the last step): Euler to 0.
 */
export async function sampleDpm2Ancestral(
  denoise: Denoiser,
  x0: Float32Array,
  sigmas: readonly number[],
  options: AncestralOptions = {},
): Promise<Float32Array> {
  checkSigmas('sampleDpm2Ancestral', x0, sigmas);
  const eta = options.eta ?? 1;
  checkEta('sampleDpm2Ancestral', eta);
  const sN = f(options.sNoise ?? 1);
  const noise = noiseSource(options);
  const n = x0.length;
  let x = x0;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const s = f(sigmas[i]!);
    const sn = f(sigmas[i + 1]!);
    const den = await evaluate(denoise, x, s, options.signal);
    const step = rfAncestralStep(s, sn, eta);
    await report(options, i, sigmas, x, den);
    const d = slope(x, den, s);
    if (step.down === 0) {
      x = stepped(x, d, f(step.down - s));
      continue;
    }
    const mid = logMidpoint(s, step.down);
    const x2 = stepped(x, d, f(mid - s));
    const d2 = slope(x2, await evaluate(denoise, x2, mid, options.signal), mid);
    const moved = stepped(x, d2, f(step.down - s));
    x = rfRenoise(moved, step, noise(s, sn, n), sN);
  }
  return x;
}

export const HEUN_SAMPLERS: SamplerFamily = {
  heun: plain(sampleHeun),
  heunpp2: plain(sampleHeunpp2),
  dpm_2: plain(sampleDpm2),
  dpm_2_ancestral: plain(sampleDpm2Ancestral),
};
