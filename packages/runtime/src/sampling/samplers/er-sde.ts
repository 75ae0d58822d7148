/**
 * ComfyUI's er_sde: the Extended Reverse-Time SDE solver (Cui et al. 2023, VP ER-SDE-Solver-3) with ComfyUI's
 * defaults (s_noise 1, max_stage 3, noise scaler x (e^(x^0.3) + 10)) and default_noise_sampler noise.
 *
 * Its stage-2/3 integrals are 200-point Riemann sums that torch evaluates as float32 vector reductions (SLEEF pow/exp
 * and a blocked summation order); they are computed here in double precision and rounded once, so er_sde agrees
 * with torch to a stated tolerance rather than bit for bit (see the README's sampling section).
 */

import { checkLength, checkSigmas, evaluate, f, plain, report, type Denoiser } from './common.ts';
import type { SamplerFamily } from './names.ts';
import { halfLogSnr, offsetFirstSigma, percentToSigmaOf, seededNoiseSampler, type SdeSamplerOptions } from './sde-common.ts';

/** Options of er_sde. */
export interface ErSdeOptions extends SdeSamplerOptions {
  /** Highest solver stage (1 to 3), 3 by default. */
  maxStage?: number;
}

const INTEGRATION_POINTS = 200;

/** ComfyUI's default noise scaler, x (e^(x^0.3) + 10), in float32. */
function noiseScaler(x: number): number {
  return f(x * f(f(Math.exp(f(Math.pow(x, 0.3)))) + 10));
}

/**
 * er_sde with lambda = sigma / alpha (e^(-half-log-SNR)): x = (alpha_t/alpha_s) r x + alpha_t (1 - r) D with
 * r = scaler(lambda_t) / scaler(lambda_s), plus (from the second step) first- and second-difference corrections
 * weighted by the integrals of 1/scaler and (lambda - lambda_s)/scaler, plus alpha_t sqrt(lambda_t^2 - lambda_s^2 r^2)
 * of fresh noise.
 */
export async function sampleErSde(
  denoise: Denoiser,
  x0: Float32Array,
  sigmasIn: readonly number[],
  options: ErSdeOptions = {},
): Promise<Float32Array> {
  checkSigmas('sampleErSde', x0, sigmasIn);
  const sNoise = options.sNoise ?? 1;
  const maxStage = options.maxStage ?? 3;
  if (![1, 2, 3].includes(maxStage)) throw new RangeError(`sampleErSde: maxStage must be 1, 2 or 3, got ${maxStage}`);
  const n = x0.length;
  const noise = seededNoiseSampler(n, options);
  const sigmas = offsetFirstSigma(sigmasIn, percentToSigmaOf(options));
  const lambdas = sigmas.map((s) => f(Math.exp(-halfLogSnr(s))));
  let x = x0;
  let oldDen: Float32Array | null = null;
  let oldDiff: Float32Array | null = null;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const s = sigmas[i]!;
    const sn = sigmas[i + 1]!;
    const den = await evaluate(denoise, x, s, options.signal);
    await report(options, i, sigmas, x, den);
    const stage = Math.min(maxStage, i + 1);
    if (sn === 0) {
      x = Float32Array.from(den);
      oldDen = den;
      continue;
    }
    const ls = lambdas[i]!;
    const lt = lambdas[i + 1]!;
    const alphaS = f(s / ls);
    const alphaT = f(sn / lt);
    const rAlpha = f(alphaT / alphaS);
    const scaledT = noiseScaler(lt);
    const r = f(scaledT / noiseScaler(ls));
    // 1. Stage 1 (Euler in lambda).
    const c1 = f(rAlpha * r);
    const c2 = f(alphaT * f(1 - r));
    const next = new Float32Array(n);
    for (let k = 0; k < n; k++) next[k] = f(c1 * x[k]!) + f(c2 * den[k]!);
    if (stage >= 2) {
      // 2. Riemann sums over lambda_t + j (lambda_s - lambda_t) / 200, j < 200.
      const dt = f(lt - ls);
      const step = f(-dt / INTEGRATION_POINTS);
      let sumInv = 0;
      let sumWeighted = 0;
      for (let j = 0; j < INTEGRATION_POINTS; j++) {
        const pos = f(lt + f(j * step));
        const scaled = noiseScaler(pos);
        sumInv += 1 / scaled;
        sumWeighted += f(pos - ls) / scaled;
      }
      const integral = f(f(sumInv) * step);
      const diff = new Float32Array(n);
      const span = f(ls - lambdas[i - 1]!);
      for (let k = 0; k < n; k++) diff[k] = f(f(den[k]! - oldDen![k]!) / span);
      const c = f(alphaT * f(dt + f(integral * scaledT)));
      for (let k = 0; k < n; k++) next[k] = next[k]! + f(c * diff[k]!);
      if (stage >= 3) {
        // 3. Second difference.
        const integralU = f(f(sumWeighted) * step);
        const halfSpan = f(f(ls - lambdas[i - 2]!) / 2);
        const cu = f(alphaT * f(f(f(dt * dt) / 2) + f(integralU * scaledT)));
        for (let k = 0; k < n; k++) next[k] = next[k]! + f(cu * f(f(diff[k]! - oldDiff![k]!) / halfSpan));
      }
      oldDiff = diff;
    }
    if (sNoise > 0) {
      const g0 = f(Math.sqrt(f(f(lt * lt) - f(f(ls * ls) * f(r * r)))));
      const g = Number.isNaN(g0) ? 0 : g0;
      const sN = f(sNoise);
      const eps = noise(s, sn, n);
      checkLength('noise sampler', eps, n);
      for (let k = 0; k < n; k++) next[k] = next[k]! + f(f(f(alphaT * eps[k]!) * sN) * g);
    }
    x = next;
    oldDen = den;
  }
  return x;
}

export const ER_SDE_SAMPLERS: SamplerFamily = {
  er_sde: plain(sampleErSde),
};
