/**
 * ComfyUI's SA-Solver (Xue et al. 2023, stochastic Adams predictor-corrector in data prediction) and its PECE mode,
 * with ComfyUI's defaults: predictor order 3, corrector order 4, tau = 1 for sigmas in [percent_to_sigma(0.8),
 * percent_to_sigma(0.2)] and 0 elsewhere, s_noise 1, lower orders near the end, default_noise_sampler noise.
 *
 * The b coefficients solve a small Vandermonde system; torch does it in float32 (LAPACK LU), this file in double
 * precision from the same float32 inputs, rounded once, so sa_solver agrees with torch to a stated tolerance rather
 * than bit for bit (see the README's sampling section).
 */

import { checkLength, checkSigmas, evaluate, f, plain, report, type Denoiser } from './common.ts';
import type { SamplerFamily } from './names.ts';
import { halfLogSnr, offsetFirstSigma, percentToSigmaOf, seededNoiseSampler, type SdeSamplerOptions } from './sde-common.ts';

/** Options of sa_solver. */
export interface SaSolverOptions extends SdeSamplerOptions {
  /** Predictor order (1 to 6), 3 by default. */
  predictorOrder?: number;
  /** Corrector order (0 to 6), 4 by default. */
  correctorOrder?: number;
  /** Predict-evaluate-correct-evaluate: one more model call per step on the corrected state. */
  usePece?: boolean;
  /** Stochastic strength as a function of sigma; ComfyUI's interval function by default. */
  tau?: (sigma: number) => number;
}

/**
 * (1 + tau^2) times the integral of e^((1 + tau^2)(u - t)) u^p du over [s, t] for p < order, by repeated
 * integration by parts: e_i = sum_{j <= i} (-1)^(i-j) (i!/j!) (1 + tau^2)^(j-i) (t^j - s^j e^(-(1 + tau^2)(t - s))).
 */
export function exponentialCoefficients(s: number, t: number, order: number, tau: number): number[] {
  const k = 1 + tau * tau;
  const decay = Math.exp(-k * (t - s));
  const product = Array.from({ length: order }, (_, p) => t ** p - s ** p * decay);
  const out: number[] = [];
  for (let i = 0; i < order; i++) {
    let sum = 0;
    let factor = 1; // (i!/j!) k^(j-i) (-1)^(i-j), built from j = i downwards
    for (let j = i; j >= 0; j--) {
      sum += factor * product[j]!;
      factor *= -j / k;
    }
    out.push(sum);
  }
  return out;
}

/** Solves A w = b for a small dense A by Gaussian elimination with partial pivoting. */
function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]!]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r]![col]!) > Math.abs(m[pivot]![col]!)) pivot = r;
    [m[col], m[pivot]] = [m[pivot]!, m[col]!];
    const p = m[col]![col]!;
    if (p === 0) throw new RangeError('SA-Solver: repeated half-log-SNR points make the Vandermonde system singular; use distinct sigmas');
    for (let r = col + 1; r < n; r++) {
      const q = m[r]![col]! / p;
      for (let c = col; c <= n; c++) m[r]![c]! -= q * m[col]![c]!;
    }
  }
  const w = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let v = m[r]![n]!;
    for (let c = r + 1; c < n; c++) v -= m[r]![c]! * w[c]!;
    w[r] = v / m[r]![r]!;
  }
  return w;
}

/**
 * SA-Solver's b_i for the Lagrange basis on `lambdas` over [lambdaS, lambdaT]: alpha_t times the solution of
 * V^T w = e, V the increasing Vandermonde matrix of the lambdas and e the {@link exponentialCoefficients}.
 */
export function stochasticAdamsCoefficients(sigmaNext: number, lambdas: readonly number[], lambdaS: number, lambdaT: number, tau: number): number[] {
  const order = lambdas.length;
  const e = exponentialCoefficients(lambdaS, lambdaT, order, tau);
  const vt = Array.from({ length: order }, (_, p) => lambdas.map((l) => l ** p));
  const alphaT = sigmaNext * Math.exp(lambdaT);
  return solve(vt, e).map((w) => f(alphaT * w));
}

/** ComfyUI's get_tau_interval_func(start, end, eta 1): 1 on [end, start], else 0. */
function tauInterval(start: number, end: number): (sigma: number) => number {
  return (sigma) => (start >= sigma && sigma >= end ? 1 : 0);
}

/** Sum over the last `count` predictions weighted by b (oldest first), in float32. */
function combine(predictions: readonly Float32Array[], b: readonly number[], n: number): Float32Array {
  const used = predictions.slice(predictions.length - b.length);
  const out = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    let acc = f(used[0]![k]! * b[0]!);
    for (let j = 1; j < b.length; j++) acc = f(acc + f(used[j]![k]! * b[j]!));
    out[k] = acc;
  }
  return out;
}

function checkOrder(fn: string, name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min || v > 6) throw new RangeError(`${fn}: ${name} must be an integer in [${min}, 6], got ${v}`);
}

/**
 * SA-Solver: each step evaluates the model at the predicted state, corrects the state with the stochastic Adams
 * corrector over the last predictions (plus the predictor's noise), then predicts the next state and adds fresh
 * noise sigma_next sqrt(1 - e^(-2 tau^2 h)) where tau > 0.
 */
export async function sampleSaSolver(
  denoise: Denoiser,
  x0: Float32Array,
  sigmasIn: readonly number[],
  options: SaSolverOptions = {},
): Promise<Float32Array> {
  const fn = options.usePece ? 'sampleSaSolverPece' : 'sampleSaSolver';
  checkSigmas(fn, x0, sigmasIn);
  if (sigmasIn.length <= 1) return x0;
  const predictorOrder = options.predictorOrder ?? 3;
  const correctorOrder = options.correctorOrder ?? 4;
  checkOrder(fn, 'predictorOrder', predictorOrder, 1);
  checkOrder(fn, 'correctorOrder', correctorOrder, 0);
  const sNoise = options.sNoise ?? 1;
  const pece = options.usePece ?? false;
  const percentToSigma = percentToSigmaOf(options);
  const tauOf = options.tau ?? tauInterval(percentToSigma(0.2), percentToSigma(0.8));
  const n = x0.length;
  const noiseSampler = seededNoiseSampler(n, options);
  const sigmas = offsetFirstSigma(sigmasIn, percentToSigma);
  const lambdas = sigmas.map(halfLogSnr);
  const maxOrder = Math.max(predictorOrder, correctorOrder);
  const lowerOrderToEnd = sigmas[sigmas.length - 1] === 0;
  const sN = f(sNoise);

  let x = x0;
  let xPred = x0;
  let h = 0;
  let tau = 0;
  let noise: Float32Array | null = null;
  let predictions: Float32Array[] = [];
  for (let i = 0; i < sigmas.length - 1; i++) {
    const s = sigmas[i]!;
    const sn = sigmas[i + 1]!;
    let den = await evaluate(denoise, xPred, s, options.signal);
    await report(options, i, sigmas, xPred, den);
    predictions = [...predictions, den].slice(-maxOrder);

    let pOrder = Math.min(predictorOrder, predictions.length);
    let cOrder = i === 0 || (sn === 0 && !pece) ? 0 : Math.min(correctorOrder, predictions.length);
    if (lowerOrderToEnd) {
      pOrder = Math.min(pOrder, sigmas.length - 2 - i);
      cOrder = Math.min(cOrder, sigmas.length - 1 - i);
    }

    // 1. Corrector.
    if (cOrder === 0) {
      x = xPred;
    } else {
      const b = stochasticAdamsCoefficients(s, lambdas.slice(i - cOrder + 1, i + 1), lambdas[i - 1]!, lambdas[i]!, tau);
      const res = combine(predictions, b, n);
      const c = f(f(s / sigmas[i - 1]!) * f(Math.exp(f(f(-(tau * tau)) * h))));
      const next = new Float32Array(n);
      for (let k = 0; k < n; k++) next[k] = f(c * x[k]!) + res[k]!;
      if (tau > 0 && sNoise > 0 && noise) for (let k = 0; k < n; k++) next[k] = next[k]! + noise[k]!;
      x = next;
      if (pece) {
        den = await evaluate(denoise, x, s, options.signal);
        predictions[predictions.length - 1] = den;
      }
    }

    // 2. Predictor.
    if (sn === 0) {
      x = Float32Array.from(den);
    } else {
      tau = tauOf(sn);
      const b = stochasticAdamsCoefficients(sn, lambdas.slice(i - pOrder + 1, i + 1), lambdas[i]!, lambdas[i + 1]!, tau);
      const res = combine(predictions, b, n);
      h = f(lambdas[i + 1]! - lambdas[i]!);
      const c = f(f(sn / s) * f(Math.exp(f(f(-(tau * tau)) * h))));
      const pred = new Float32Array(n);
      for (let k = 0; k < n; k++) pred[k] = f(c * x[k]!) + res[k]!;
      if (tau > 0 && sNoise > 0) {
        const eps = noiseSampler(s, sn, n);
        checkLength('noise sampler', eps, n);
        const g = f(Math.sqrt(f(-f(Math.expm1(f(f(-2 * tau * tau) * h))))));
        noise = eps.map((e) => f(f(f(e * sn) * g) * sN));
        for (let k = 0; k < n; k++) pred[k] = pred[k]! + noise[k]!;
      }
      xPred = pred;
    }
  }
  return x;
}

/** sa_solver_pece: SA-Solver in PECE mode (corrects the last step too). */
export function sampleSaSolverPece(denoise: Denoiser, x: Float32Array, sigmas: readonly number[], options: SaSolverOptions = {}): Promise<Float32Array> {
  return sampleSaSolver(denoise, x, sigmas, { ...options, usePece: true });
}

export const SA_SOLVER_SAMPLERS: SamplerFamily = {
  sa_solver: plain(sampleSaSolver),
  sa_solver_pece: plain(sampleSaSolverPece),
};
