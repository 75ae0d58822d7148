/**
 * DPM-Solver (Lu et al. 2022, arXiv 2206.00927) with its own step control, as k-diffusion implements it and
 * ComfyUI calls it: dpm_fast (fixed steps of orders 3, 3, ..., 2/1 spread uniformly in t = -log sigma) and
 * dpm_adaptive (embedded DPM-Solver-2/3 pairs with a PID step-size controller). Both integrate from sigmas[0] to
 * the last non-zero sigma (ComfyUI passes sigmas[-2] when the schedule ends in 0) and return the latent there:
 * they never step to 0, and evaluate the model at sigmas of their own choosing.
 */

import { linspaceF32 } from '../../schedule/schedulers.ts';
import { checkSigmas, evaluate, f, plain, type Denoiser, type SamplerOptions } from './common.ts';
import type { SamplerFamily } from './names.ts';
import { sigmaOfT, tOfSigma } from './steps.ts';

/** eps at the first intermediate point, shared by the two solvers of one dpm_adaptive attempt (k-diffusion's eps_r1). */
interface StepCache {
  eps1?: Float32Array;
}

/** The eps-prediction view of the model and the three DPM-Solver steps. */
class DpmSolver {
  constructor(
    private readonly denoise: Denoiser,
    private readonly signal: AbortSignal | undefined,
  ) {}

  /** eps = (x - D(x, sigma(t))) / sigma(t). */
  async eps(x: Float32Array, t: number): Promise<Float32Array> {
    const sigma = sigmaOfT(t);
    const den = await evaluate(this.denoise, x, sigma, this.signal);
    const out = new Float32Array(x.length);
    for (let k = 0; k < x.length; k++) out[k] = f(x[k]! - den[k]!) / sigma;
    return out;
  }

  /** DPM-Solver-1: x - sigma(t') expm1(h) eps. */
  step1(x: Float32Array, t: number, tNext: number, eps: Float32Array): Float32Array {
    const a = f(sigmaOfT(tNext) * f(Math.expm1(f(tNext - t))));
    return each(x.length, (k) => x[k]! - f(a * eps[k]!));
  }

  /** DPM-Solver-2 with an intermediate point at t + r1 h. */
  async step2(x: Float32Array, t: number, tNext: number, eps: Float32Array, r1: number, cache: StepCache = {}): Promise<Float32Array> {
    const h = f(tNext - t);
    const r1h = f(f(r1) * h);
    const s1 = f(t + r1h);
    const a1 = f(sigmaOfT(s1) * f(Math.expm1(r1h)));
    const eps1 = (cache.eps1 ??= await this.eps(each(x.length, (k) => x[k]! - f(a1 * eps[k]!)), s1));
    const em = f(Math.expm1(h));
    const sn = sigmaOfT(tNext);
    const a = f(sn * em);
    const b = f(f(sn / f(2 * r1)) * em);
    return each(x.length, (k) => f(x[k]! - f(a * eps[k]!)) - f(b * f(eps1[k]! - eps[k]!)));
  }

  /** DPM-Solver-3 with intermediate points at t + h/3 and t + 2h/3. */
  async step3(x: Float32Array, t: number, tNext: number, eps: Float32Array, cache: StepCache = {}): Promise<Float32Array> {
    const r1 = 1 / 3;
    const r2 = 2 / 3;
    const h = f(tNext - t);
    const r1h = f(f(r1) * h);
    const r2h = f(f(r2) * h);
    const s1 = f(t + r1h);
    const s2 = f(t + r2h);
    const a1 = f(sigmaOfT(s1) * f(Math.expm1(r1h)));
    const eps1 = (cache.eps1 ??= await this.eps(each(x.length, (k) => x[k]! - f(a1 * eps[k]!)), s1));
    const sigma2 = sigmaOfT(s2);
    const em2 = f(Math.expm1(r2h));
    const a2 = f(sigma2 * em2);
    const b2 = f(f(sigma2 * f(r2 / r1)) * f(f(em2 / r2h) - 1));
    const u2 = each(x.length, (k) => f(x[k]! - f(a2 * eps[k]!)) - f(b2 * f(eps1[k]! - eps[k]!)));
    const eps2 = await this.eps(u2, s2);
    const em = f(Math.expm1(h));
    const sn = sigmaOfT(tNext);
    const a = f(sn * em);
    const b = f(f(sn / f(r2)) * f(f(em / h) - 1));
    return each(x.length, (k) => f(x[k]! - f(a * eps[k]!)) - f(b * f(eps2[k]! - eps[k]!)));
  }
}

/** Elementwise float32 result of fn over k (typed-array map is slow in V8). */
function each(n: number, fn: (k: number) => number): Float32Array {
  const out = new Float32Array(n);
  for (let k = 0; k < n; k++) out[k] = fn(k);
  return out;
}

/** The integration range ComfyUI hands k-diffusion: sigmas[0] down to the last sigma, or sigmas[-2] if that is 0. */
function sigmaRange(sigmas: readonly number[]): { sigmaMin: number; sigmaMax: number } {
  const last = f(sigmas[sigmas.length - 1]!);
  const sigmaMin = last === 0 ? f(sigmas[sigmas.length - 2]!) : last;
  const sigmaMax = f(sigmas[0]!);
  if (!(sigmaMin > 0) || !(sigmaMax > 0)) throw new RangeError('DPM-Solver: sigma_min and sigma_max must not be 0');
  return { sigmaMin, sigmaMax };
}

/** x - sigma(t) eps, the prediction the callback shows. */
const predicted = (x: Float32Array, t: number, eps: Float32Array) => {
  const s = sigmaOfT(t);
  return each(x.length, (k) => x[k]! - f(s * eps[k]!));
};

/**
 * dpm_fast: n = sigmas.length - 1 model evaluations over m = floor(n/3) + 1 steps uniform in t, orders
 * [3, ..., 3, 2, 1] when n is a multiple of 3, else [3, ..., 3, n mod 3]. (ComfyUI's eta 0: the noise it draws is
 * scaled by 0.)
 */
export async function sampleDpmFast(
  denoise: Denoiser,
  x0: Float32Array,
  sigmas: readonly number[],
  options: SamplerOptions = {},
): Promise<Float32Array> {
  checkSigmas('sampleDpmFast', x0, sigmas);
  if (sigmas.length <= 1) return x0;
  const { sigmaMin, sigmaMax } = sigmaRange(sigmas);
  const nfe = sigmas.length - 1;
  const m = Math.floor(nfe / 3) + 1;
  const ts = linspaceF32(tOfSigma(sigmaMax), tOfSigma(sigmaMin), m + 1);
  const orders = nfe % 3 === 0 ? [...Array<number>(m - 2).fill(3), 2, 1] : [...Array<number>(m - 1).fill(3), nfe % 3];
  const solver = new DpmSolver(denoise, options.signal);
  let x = x0;
  for (let i = 0; i < orders.length; i++) {
    const t = ts[i]!;
    const tNext = ts[i + 1]!;
    const eps = await solver.eps(x, t);
    if (options.callback) {
      await options.callback({ i, total: nfe, sigma: sigmaOfT(t), sigmaNext: sigmaOfT(tNext), x, denoised: predicted(x, t, eps) });
    }
    const order = orders[i]!;
    x = order === 1 ? solver.step1(x, t, tNext, eps) : order === 2 ? await solver.step2(x, t, tNext, eps, 1 / 2) : await solver.step3(x, t, tNext, eps);
  }
  return x;
}

/** Options of dpm_adaptive: k-diffusion's defaults, which ComfyUI uses. */
export interface DpmAdaptiveOptions extends SamplerOptions {
  rtol?: number;
  atol?: number;
  hInit?: number;
  acceptSafety?: number;
}

/**
 * dpm_adaptive (order 3, k-diffusion's defaults rtol 0.05, atol 0.0078, h_init 0.05, PID coefficients p 0, i 1,
 * d 0, accept_safety 0.81). Per attempt from t = s to t' = min(t_end, s + h):
 * 1. x_low = DPM-Solver-2 (r1 = 1/3), x_high = DPM-Solver-3 (sharing eps and eps(r1)).
 * 2. delta = max(atol, rtol max(|x_low|, |x_prev|)); error = ||(x_low - x_high)/delta||_2 / sqrt(numel) in float32.
 * 3. The controller: factor = 1 + atan((1/(error + 1e-8))^(1/3) - 1); accept if factor >= accept_safety; h *= factor
 *    (accepted or not).
 * 4. Accepted: x_prev = x_low, x = x_high, s = t'. Until s >= t_end - 1e-5.
 * Three model calls per attempt; the callback runs after every attempt (i counts attempts).
 */
export async function sampleDpmAdaptive(
  denoise: Denoiser,
  x0: Float32Array,
  sigmas: readonly number[],
  options: DpmAdaptiveOptions = {},
): Promise<Float32Array> {
  checkSigmas('sampleDpmAdaptive', x0, sigmas);
  if (sigmas.length <= 1) return x0;
  const { sigmaMin, sigmaMax } = sigmaRange(sigmas);
  const rtol = f(options.rtol ?? 0.05);
  const atol = f(options.atol ?? 0.0078);
  const acceptSafety = options.acceptSafety ?? 0.81;
  // The PID controller's exponents are (p + i + d)/order = 1/3 on the current error and -(p + 2d)/order = 0, d/order = 0
  // on the two previous ones, so with ComfyUI's coefficients only the current error moves h.
  const b1 = 1 / 3;
  const tEnd = tOfSigma(sigmaMin);
  const stopAt = f(tEnd - f(1e-5));
  const rootN = f(Math.sqrt(x0.length));
  const solver = new DpmSolver(denoise, options.signal);
  let h = Math.abs(options.hInit ?? 0.05);
  let s = tOfSigma(sigmaMax);
  let x = x0;
  let xPrev = x0;
  let attempts = 0;
  while (s < stopAt) {
    const t = Math.min(tEnd, f(s + f(h)));
    const eps = await solver.eps(x, s);
    // 1. DPM-Solver-2 (r1 = 1/3) and DPM-Solver-3 share eps and the evaluation at s + h/3.
    const cache: StepCache = {};
    const xLow = await solver.step2(x, s, t, eps, 1 / 3, cache);
    const xHigh = await solver.step3(x, s, t, eps, cache);
    // 2.
    let sq = 0;
    for (let k = 0; k < x.length; k++) {
      const delta = Math.max(atol, f(rtol * Math.max(Math.abs(xLow[k]!), Math.abs(xPrev[k]!))));
      const r = f(f(xLow[k]! - xHigh[k]!) / delta);
      sq += r * r;
    }
    const error = f(f(Math.sqrt(sq)) / rootN);
    // 3.
    const factor = 1 + Math.atan((1 / (error + 1e-8)) ** b1 - 1);
    const accept = factor >= acceptSafety;
    h *= factor;
    const denoised = predicted(x, s, eps);
    // 4.
    if (accept) {
      xPrev = xLow;
      x = xHigh;
      s = t;
    }
    attempts++;
    if (options.callback) {
      await options.callback({ i: attempts - 1, total: sigmas.length - 1, sigma: sigmaOfT(s), sigmaNext: sigmaOfT(t), x, denoised });
    }
  }
  return x;
}

export const DPM_SOLVER_SAMPLERS: SamplerFamily = {
  dpm_fast: plain(sampleDpmFast),
  dpm_adaptive: plain(sampleDpmAdaptive),
};
