/**
 * ComfyUI's SEEDS-2 and SEEDS-3 (Gonzalez et al. 2023, stochastic explicit exponential derivative-free solvers,
 * data prediction) on the half-log-SNR time, with default_noise_sampler noise. Defaults as in ComfyUI: eta 1,
 * s_noise 1, r 1/2 (seeds_2), r_1 1/3 and r_2 2/3 (seeds_3). Two and three model calls per step.
 */

import { checkLength, checkSigmas, evaluate, f, plain, report, type Denoiser, type NoiseSampler } from './common.ts';
import type { SamplerFamily } from './names.ts';
import {
  halfLogSnr,
  offsetFirstSigma,
  percentToSigmaOf,
  seededNoiseSampler,
  sigmaOfHalfLogSnr,
  type SdeSamplerOptions,
} from './sde-common.ts';

/** Options of seeds_2. */
export interface Seeds2Options extends SdeSamplerOptions {
  /** Position of the intermediate point in half-log-SNR, 1/2 by default. */
  r?: number;
}

/** Options of seeds_3. */
export interface Seeds3Options extends SdeSamplerOptions {
  /** Positions of the two intermediate points, 1/3 and 2/3 by default. */
  r1?: number;
  r2?: number;
}

/** torch.lerp on float32 scalars: start + w (end - start) for |w| < 1/2, else end - (end - start)(1 - w). */
function lerp(start: number, end: number, weight: number): number {
  const w = f(weight);
  const diff = f(end - start);
  return Math.abs(w) < 0.5 ? f(start + f(w * diff)) : f(end - f(diff * f(1 - w)));
}

/** h phi_1(h) = expm1(h). */
const phi1 = (h: number): number => f(Math.expm1(h));
/** h phi_2(h) = (expm1(h) - h) / h. */
const phi2 = (h: number): number => f(f(f(Math.expm1(h)) - h) / h);

/** The noise carried between the stages of one step, scaled by e^(segment) and topped up with fresh noise. */
class StageNoise {
  private current: Float32Array | null = null;

  constructor(
    private readonly sampler: NoiseSampler,
    private readonly n: number,
  ) {}

  /** First stage: sqrt(1 - e^(-2 r h eta)) eps. */
  start(coefficient: number, sigma: number, sigmaNext: number): Float32Array {
    const eps = this.draw(sigma, sigmaNext);
    this.current = eps.map((e) => f(coefficient * e));
    return this.current;
  }

  /** Later stages: noise e^(seg) + sqrt(1 - e^(2 seg)) eps, seg = (r_prev - r) h eta. */
  advance(segment: number, sigma: number, sigmaNext: number): Float32Array {
    const decay = f(Math.exp(segment));
    const fresh = f(Math.sqrt(f(-f(Math.expm1(f(segment * 2))))));
    const eps = this.draw(sigma, sigmaNext);
    const prev = this.current!;
    const out = new Float32Array(this.n);
    for (let k = 0; k < this.n; k++) out[k] = f(f(prev[k]! * decay) + f(fresh * eps[k]!));
    this.current = out;
    return out;
  }

  private draw(sigma: number, sigmaNext: number): Float32Array {
    const eps = this.sampler(sigma, sigmaNext, this.n);
    checkLength('noise sampler', eps, this.n);
    return eps;
  }
}

/** x * c1 - alpha * (combination of predictions), then + noise * sigma * s_noise. */
function exponentialUpdate(
  x: Float32Array,
  c1: number,
  alpha: number,
  prediction: (k: number) => number,
  noise: Float32Array | null,
  sigma: number,
  sNoise: number,
): Float32Array {
  const out = new Float32Array(x.length);
  for (let k = 0; k < x.length; k++) out[k] = f(c1 * x[k]!) - f(alpha * prediction(k));
  if (noise) for (let k = 0; k < x.length; k++) out[k] = out[k]! + f(f(noise[k]! * sigma) * sNoise);
  return out;
}

function checkEta(fn: string, eta: number): void {
  if (!(eta >= 0) || !Number.isFinite(eta)) throw new RangeError(`${fn}: eta must be a finite number >= 0, got ${eta}`);
}

/**
 * SEEDS-2: with h in half-log-SNR, a stage at lambda_s + r h (model call), then the full step with the predictions
 * blended by lerp(D, D2, 1/(2r)); the noise of the first stage is carried into the second.
 */
export async function sampleSeeds2(
  denoise: Denoiser,
  x0: Float32Array,
  sigmasIn: readonly number[],
  options: Seeds2Options = {},
): Promise<Float32Array> {
  checkSigmas('sampleSeeds2', x0, sigmasIn);
  const eta = options.eta ?? 1;
  const sNoise = options.sNoise ?? 1;
  const r = options.r ?? 0.5;
  checkEta('sampleSeeds2', eta);
  const n = x0.length;
  const noise = new StageNoise(seededNoiseSampler(n, options), n);
  const inject = eta > 0 && sNoise > 0;
  const sigmas = offsetFirstSigma(sigmasIn, percentToSigmaOf(options));
  const etaF = f(eta);
  const sN = f(sNoise);
  const fac = f(1 / (2 * r));
  let x = x0;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const s = sigmas[i]!;
    const sn = sigmas[i + 1]!;
    const den = await evaluate(denoise, x, s, options.signal);
    await report(options, i, sigmas, x, den);
    if (sn === 0) {
      x = Float32Array.from(den);
      continue;
    }
    const ls = halfLogSnr(s);
    const lt = halfLogSnr(sn);
    const h = f(lt - ls);
    const hEta = f(h * f(eta + 1));
    const ls1 = lerp(ls, lt, r);
    const s1 = sigmaOfHalfLogSnr(ls1);
    const alphaS1 = f(s1 * f(Math.exp(ls1)));
    const alphaT = f(sn * f(Math.exp(lt)));

    // 1. Stage at lambda_s1.
    const c1a = f(f(s1 / s) * f(Math.exp(f(f(f(-r) * h) * etaF))));
    const n1 = inject ? noise.start(f(Math.sqrt(f(-f(Math.expm1(f(f(f(-2 * r) * h) * etaF)))))), s, s1) : null;
    const x2 = exponentialUpdate(x, c1a, f(alphaS1 * phi1(f(f(-r) * hEta))), (k) => den[k]!, n1, s1, sN);
    const den2 = await evaluate(denoise, x2, s1, options.signal);

    // 2. Full step with lerp(D, D2, 1/(2r)) (ComfyUI's weight 1 at r = 1/2 gives D2).
    const c1b = f(f(sn / s) * f(Math.exp(f(f(-h) * etaF))));
    const n2 = inject ? noise.advance(f(f(f(r - 1) * h) * etaF), s1, sn) : null;
    const wSmall = Math.abs(fac) < 0.5;
    const blended = (k: number) => {
      const diff = f(den2[k]! - den[k]!);
      return wSmall ? f(den[k]! + f(fac * diff)) : f(den2[k]! - f(diff * f(1 - fac)));
    };
    x = exponentialUpdate(x, c1b, f(alphaT * phi1(f(-hEta))), blended, n2, sn, sN);
  }
  return x;
}

/** SEEDS-3: stages at lambda_s + r1 h and lambda_s + r2 h (model calls), then the full step. */
export async function sampleSeeds3(
  denoise: Denoiser,
  x0: Float32Array,
  sigmasIn: readonly number[],
  options: Seeds3Options = {},
): Promise<Float32Array> {
  checkSigmas('sampleSeeds3', x0, sigmasIn);
  const eta = options.eta ?? 1;
  const sNoise = options.sNoise ?? 1;
  const r1 = options.r1 ?? 1 / 3;
  const r2 = options.r2 ?? 2 / 3;
  checkEta('sampleSeeds3', eta);
  const n = x0.length;
  const noise = new StageNoise(seededNoiseSampler(n, options), n);
  const inject = eta > 0 && sNoise > 0;
  const sigmas = offsetFirstSigma(sigmasIn, percentToSigmaOf(options));
  const etaF = f(eta);
  const sN = f(sNoise);
  let x = x0;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const s = sigmas[i]!;
    const sn = sigmas[i + 1]!;
    const den = await evaluate(denoise, x, s, options.signal);
    await report(options, i, sigmas, x, den);
    if (sn === 0) {
      x = Float32Array.from(den);
      continue;
    }
    const ls = halfLogSnr(s);
    const lt = halfLogSnr(sn);
    const h = f(lt - ls);
    const hEta = f(h * f(eta + 1));
    const ls1 = lerp(ls, lt, r1);
    const ls2 = lerp(ls, lt, r2);
    const s1 = sigmaOfHalfLogSnr(ls1);
    const s2 = sigmaOfHalfLogSnr(ls2);
    const alphaS1 = f(s1 * f(Math.exp(ls1)));
    const alphaS2 = f(s2 * f(Math.exp(ls2)));
    const alphaT = f(sn * f(Math.exp(lt)));

    // 1. Stage at lambda_s1.
    const c1a = f(f(s1 / s) * f(Math.exp(f(f(f(-r1) * h) * etaF))));
    const n1 = inject ? noise.start(f(Math.sqrt(f(-f(Math.expm1(f(f(f(-2 * r1) * h) * etaF)))))), s, s1) : null;
    const x2 = exponentialUpdate(x, c1a, f(alphaS1 * phi1(f(f(-r1) * hEta))), (k) => den[k]!, n1, s1, sN);
    const den2 = await evaluate(denoise, x2, s1, options.signal);

    // 2. Stage at lambda_s2 from D and D2.
    const a32 = f(f(r2 / r1) * phi2(f(f(-r2) * hEta)));
    const a31 = f(phi1(f(f(-r2) * hEta)) - a32);
    const c1b = f(f(s2 / s) * f(Math.exp(f(f(f(-r2) * h) * etaF))));
    const n2 = inject ? noise.advance(f(f(f(r1 - r2) * h) * etaF), s1, s2) : null;
    const x3 = exponentialUpdate(x, c1b, alphaS2, (k) => f(f(a31 * den[k]!) + f(a32 * den2[k]!)), n2, s2, sN);
    const den3 = await evaluate(denoise, x3, s2, options.signal);

    // 3. Full step from D and D3.
    const b3 = f(phi2(f(-hEta)) / f(r2));
    const b1 = f(phi1(f(-hEta)) - b3);
    const c1c = f(f(sn / s) * f(Math.exp(f(f(-h) * etaF))));
    const n3 = inject ? noise.advance(f(f(f(r2 - 1) * h) * etaF), s2, sn) : null;
    x = exponentialUpdate(x, c1c, alphaT, (k) => f(f(b1 * den[k]!) + f(b3 * den3[k]!)), n3, sn, sN);
  }
  return x;
}

export const SEEDS_SAMPLERS: SamplerFamily = {
  seeds_2: plain(sampleSeeds2),
  seeds_3: plain(sampleSeeds3),
};
