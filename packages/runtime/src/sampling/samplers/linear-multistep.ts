/**
 * Linear multistep samplers over the slope d = (x - D)/sigma: lms (k-diffusion's Adams-type LMS in sigma), ipndm
 * (fixed Adams-Bashforth coefficients) and ipndm_v (variable-step coefficients), as ComfyUI runs them.
 */

import { checkSigmas, evaluate, f, plain, report, type Denoiser, type SamplerOptions } from './common.ts';
import type { SamplerFamily } from './names.ts';

/**
 * ∫_{t_i}^{t_{i+1}} ∏_{k≠j} (tau - t_{i-k}) / (t_{i-j} - t_{i-k}) dtau, k < order: k-diffusion's
 * linear_multistep_coeff. k-diffusion integrates with scipy's quad (a 21-point Gauss-Kronrod rule, exact for these
 * polynomials of degree <= 3); here the polynomial is expanded and integrated exactly in float64. The denominators
 * are float32 differences (numpy float32 sigmas), the rest float64, as in k-diffusion.
 */
export function lmsCoefficient(order: number, t: readonly number[], i: number, j: number): number {
  if (order - 1 > i) throw new RangeError(`lmsCoefficient: order ${order} too high for step ${i}`);
  // Polynomial coefficients, lowest power first.
  let poly = [1];
  for (let k = 0; k < order; k++) {
    if (k === j) continue;
    const root = t[i - k]!;
    const scale = 1 / f(t[i - j]! - root);
    const next = new Array<number>(poly.length + 1).fill(0);
    for (let p = 0; p < poly.length; p++) {
      next[p + 1]! += poly[p]! * scale;
      next[p]! -= poly[p]! * root * scale;
    }
    poly = next;
  }
  const a = t[i]!;
  const b = t[i + 1]!;
  let integral = 0;
  for (let p = 0; p < poly.length; p++) integral += (poly[p]! * (b ** (p + 1) - a ** (p + 1))) / (p + 1);
  return integral;
}

/**
 * LMS (k-diffusion's sample_lms, order 4): x += Σ_j c_j d_{i-j} with c_j = lmsCoefficient over the float32 sigmas;
 * the last step (to 0) lands on D.
 */
export async function sampleLms(
  denoise: Denoiser,
  x0: Float32Array,
  sigmas: readonly number[],
  options: SamplerOptions & { order?: number } = {},
): Promise<Float32Array> {
  checkSigmas('sampleLms', x0, sigmas);
  const order = options.order ?? 4;
  const t = sigmas.map((s) => f(s));
  const n = x0.length;
  const slopes: Float32Array[] = [];
  let x = x0;
  for (let i = 0; i < t.length - 1; i++) {
    const s = t[i]!;
    const den = await evaluate(denoise, x, s, options.signal);
    const d = new Float32Array(n);
    for (let k = 0; k < n; k++) d[k] = f(x[k]! - den[k]!) / s;
    slopes.push(d);
    if (slopes.length > order) slopes.shift();
    await report(options, i, sigmas, x, den);
    if (t[i + 1] === 0) {
      x = Float32Array.from(den);
      continue;
    }
    const curOrder = Math.min(i + 1, order);
    // Python's sum(coeff * d for ...): a running float32 sum over the newest slope first.
    const coeffs = Array.from({ length: curOrder }, (_, j) => f(lmsCoefficient(curOrder, t, i, j)));
    const next = new Float32Array(n);
    for (let k = 0; k < n; k++) {
      let acc = 0;
      for (let j = 0; j < curOrder; j++) acc = f(acc + f(coeffs[j]! * slopes[slopes.length - 1 - j]![k]!));
      next[k] = x[k]! + acc;
    }
    x = next;
  }
  return x;
}

/** Keeps the last `size` slopes (oldest first), like ComfyUI's buffer_model. */
function pushHistory(history: Float32Array[], d: Float32Array, size: number): void {
  history.push(d);
  if (history.length > size) history.shift();
}

/**
 * iPNDM (ComfyUI's sample_ipndm, max order 4): Adams-Bashforth steps in sigma with the fixed coefficients
 * (3, -1)/2, (23, -16, 5)/12, (55, -59, 37, -9)/24 over the current and previous slopes; first step Euler, the
 * last (to 0) lands on D.
 */
export async function sampleIpndm(
  denoise: Denoiser,
  x0: Float32Array,
  sigmas: readonly number[],
  options: SamplerOptions = {},
): Promise<Float32Array> {
  checkSigmas('sampleIpndm', x0, sigmas);
  const maxOrder = 4;
  const n = x0.length;
  const history: Float32Array[] = [];
  let x = x0;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const s = f(sigmas[i]!);
    const sn = f(sigmas[i + 1]!);
    const den = await evaluate(denoise, x, s, options.signal);
    await report(options, i, sigmas, x, den);
    const d = new Float32Array(n);
    for (let k = 0; k < n; k++) d[k] = f(x[k]! - den[k]!) / s;
    const order = Math.min(maxOrder, i + 1);
    const dt = f(sn - s);
    const h1 = history[history.length - 1]!;
    const h2 = history[history.length - 2]!;
    const h3 = history[history.length - 3]!;
    const next = new Float32Array(n);
    for (let k = 0; k < n; k++) {
      let combo: number;
      if (sn === 0) {
        next[k] = den[k]!;
        continue;
      } else if (order === 1) {
        next[k] = x[k]! + f(dt * d[k]!);
        continue;
      } else if (order === 2) {
        combo = f(f(dt * f(f(3 * d[k]!) - h1[k]!)) / 2);
      } else if (order === 3) {
        combo = f(f(dt * f(f(f(23 * d[k]!) - f(16 * h1[k]!)) + f(5 * h2[k]!))) / 12);
      } else {
        const sum = f(f(f(f(55 * d[k]!) - f(59 * h1[k]!)) + f(37 * h2[k]!)) - f(9 * h3[k]!));
        combo = f(f(dt * sum) / 24);
      }
      next[k] = x[k]! + combo;
    }
    pushHistory(history, d, maxOrder - 1);
    x = next;
  }
  return x;
}

/**
 * iPNDM with variable-step coefficients (ComfyUI's sample_ipndm_v, max order 4): the Adams-Bashforth weights are
 * recomputed from the last step sizes h_n = s' - s, h_{n-1}, h_{n-2}, h_{n-3} (float32 scalars, ComfyUI's formulas).
 */
export async function sampleIpndmV(
  denoise: Denoiser,
  x0: Float32Array,
  sigmas: readonly number[],
  options: SamplerOptions = {},
): Promise<Float32Array> {
  checkSigmas('sampleIpndmV', x0, sigmas);
  const maxOrder = 4;
  const t = sigmas.map((s) => f(s));
  const n = x0.length;
  const history: Float32Array[] = [];
  let x = x0;
  for (let i = 0; i < t.length - 1; i++) {
    const s = t[i]!;
    const sn = t[i + 1]!;
    const den = await evaluate(denoise, x, s, options.signal);
    await report(options, i, sigmas, x, den);
    const d = new Float32Array(n);
    for (let k = 0; k < n; k++) d[k] = f(x[k]! - den[k]!) / s;
    const order = Math.min(maxOrder, i + 1);
    const dt = f(sn - s);
    let next: Float32Array;
    if (sn === 0) {
      next = Float32Array.from(den);
    } else if (order === 1) {
      next = new Float32Array(n);
      for (let k = 0; k < n; k++) next[k] = x[k]! + f(dt * d[k]!);
    } else {
      const c = ipndmVCoefficients(order, t, i);
      const prev = [d, ...history.slice().reverse()];
      next = new Float32Array(n);
      for (let k = 0; k < n; k++) {
        let acc = f(c[0]! * d[k]!);
        for (let j = 1; j < order; j++) acc = f(acc + f(c[j]! * prev[j]![k]!));
        next[k] = x[k]! + f(dt * acc);
      }
    }
    pushHistory(history, d, maxOrder - 1);
    x = next;
  }
  return x;
}

/** ComfyUI's ipndm_v weights for the current and up to three previous slopes, float32 scalar arithmetic. */
function ipndmVCoefficients(order: number, t: readonly number[], i: number): number[] {
  const hn = f(t[i + 1]! - t[i]!);
  const hn1 = f(t[i]! - t[i - 1]!);
  const r = f(hn / hn1);
  const c1Base = f(f(2 + r) / 2);
  const c2Base = f(-r / 2);
  if (order === 2) return [c1Base, c2Base];
  const hn2 = f(t[i - 1]! - t[i - 2]!);
  const s01 = f(hn + hn1);
  // temp = (1 - h_n / (3 (h_n + h_n1)) * (h_n (h_n + h_n1)) / (h_n1 (h_n1 + h_n2))) / 2
  const temp1 = f(f(1 - f(f(f(hn / f(3 * s01)) * f(hn * s01)) / f(hn1 * f(hn1 + hn2)))) / 2);
  const q12 = f(hn1 / hn2);
  if (order === 3) {
    return [f(c1Base + temp1), f(c2Base - f(f(1 + q12) * temp1)), f(f(temp1 * hn1) / hn2)];
  }
  const hn3 = f(t[i - 2]! - t[i - 3]!);
  const s012 = f(s01 + hn2);
  const a = f(f(1 - f(hn / f(3 * s01))) / 2);
  const b = f(f(f(1 - f(hn / f(2 * s01))) * hn) / f(6 * s012));
  const num = f(f(hn * s01) * s012);
  const den = f(f(hn1 * f(hn1 + hn2)) * f(f(hn1 + hn2) + hn3));
  const temp2 = f(f(f(a + b) * num) / den);
  const q = f(f(hn1 * f(hn1 + hn2)) / f(hn2 * f(hn2 + hn3)));
  const c1 = f(f(c1Base + temp1) + temp2);
  const c2 = f(f(c2Base - f(f(1 + q12) * temp1)) - f(f(f(1 + q12) + q) * temp2));
  const c3 = f(f(f(temp1 * hn1) / hn2) + f(f(q12 + f(q * f(1 + f(hn2 / hn3)))) * temp2));
  const c4 = f(f(f(f(-temp2 * q) * hn1)) / hn2);
  return [c1, c2, c3, c4];
}

export const LINEAR_MULTISTEP_SAMPLERS: SamplerFamily = {
  lms: plain(sampleLms),
  ipndm: plain(sampleIpndm),
  ipndm_v: plain(sampleIpndmV),
};
