/**
 * ComfyUI's DPM-Solver++ SDE samplers on the half-log-SNR time of a CONST model, with Brownian-tree noise:
 * dpmpp_sde, dpmpp_2m_sde (midpoint), dpmpp_2m_sde_heun, dpmpp_3m_sde and their _gpu variants (ComfyUI defaults:
 * eta 1, s_noise 1, r 1/2). Each writes ComfyUI's float32 tensor expressions operation by operation.
 */

import { checkLength, checkSigmas, evaluate, f, plain, report, type Denoiser, type NoiseSampler } from './common.ts';
import type { SamplerFamily } from './names.ts';
import {
  brownianTreeNoiseSampler,
  halfLogSnr,
  offsetFirstSigma,
  percentToSigmaOf,
  sigmaOfHalfLogSnr,
  type SdeSamplerOptions,
} from './sde-common.ts';

/** Options of dpmpp_sde. */
export interface DpmppSdeOptions extends SdeSamplerOptions {
  /** Where the intermediate point sits in half-log-SNR (ComfyUI's r), 1/2 by default. */
  r?: number;
}

/** Options of dpmpp_2m_sde. */
export interface Dpmpp2mSdeOptions extends SdeSamplerOptions {
  /** The second-order correction: 'midpoint' (dpmpp_2m_sde) or 'heun' (dpmpp_2m_sde_heun). */
  solverType?: 'midpoint' | 'heun';
}

function draw(noise: NoiseSampler, sigma: number, sigmaNext: number, n: number): Float32Array {
  const eps = noise(sigma, sigmaNext, n);
  checkLength('noise sampler', eps, n);
  return eps;
}

/** get_ancestral_step on float32 0-dim tensors: (sigma_down, sigma_up). */
function ancestralStep(from: number, to: number, eta: number): [number, number] {
  if (!eta) return [to, 0];
  const to2 = f(to * to);
  const from2 = f(from * from);
  const up = f(f(eta) * f(Math.sqrt(f(f(to2 * f(from2 - to2)) / from2))));
  const sigmaUp = up < to ? up : to;
  return [f(Math.sqrt(f(to2 - f(sigmaUp * sigmaUp)))), sigmaUp];
}

function checkEta(fn: string, eta: number, sNoise: number): void {
  if (!(eta >= 0) || !Number.isFinite(eta)) throw new RangeError(`${fn}: eta must be a finite number >= 0, got ${eta}`);
  if (!Number.isFinite(sNoise)) throw new RangeError(`${fn}: s_noise must be finite, got ${sNoise}`);
}

async function dpmppSde(
  denoise: Denoiser,
  x0: Float32Array,
  sigmasIn: readonly number[],
  options: DpmppSdeOptions,
): Promise<Float32Array> {
  checkSigmas('sampleDpmppSde', x0, sigmasIn);
  if (sigmasIn.length <= 1) return x0;
  const eta = options.eta ?? 1;
  const sNoise = options.sNoise ?? 1;
  const r = options.r ?? 0.5;
  checkEta('sampleDpmppSde', eta, sNoise);
  const noise = brownianTreeNoiseSampler(x0.length, sigmasIn, options);
  const sigmas = offsetFirstSigma(sigmasIn, percentToSigmaOf(options));
  const stochastic = eta > 0 && sNoise > 0;
  const sN = f(sNoise);
  const n = x0.length;
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
    const ls1 = f(ls + f(f(r) * h));
    const fac = 1 / (2 * r);
    const s1 = sigmaOfHalfLogSnr(ls1);
    const alphaS = f(s * f(Math.exp(ls)));
    const alphaS1 = f(s1 * f(Math.exp(ls1)));
    const alphaT = f(sn * f(Math.exp(lt)));
    const fromSigma = f(Math.exp(-ls));

    // 1. Ancestral half step to lambda_s1, model at sigma_s1.
    let [sd, su] = ancestralStep(fromSigma, f(Math.exp(-ls1)), eta);
    let hStep = f(-f(Math.log(sd)) - ls);
    let c1 = f(f(alphaS1 / alphaS) * f(Math.exp(-hStep)));
    let c2 = f(alphaS1 * f(Math.expm1(-hStep)));
    const x2 = new Float32Array(n);
    for (let k = 0; k < n; k++) x2[k] = f(c1 * x[k]!) - f(c2 * den[k]!);
    if (stochastic) {
      const eps = draw(noise, s, s1, n);
      for (let k = 0; k < n; k++) x2[k] = x2[k]! + f(f(f(alphaS1 * eps[k]!) * sN) * su);
    }
    const den2 = await evaluate(denoise, x2, s1, options.signal);

    // 2. Full ancestral step to lambda_t with the blended prediction.
    [sd, su] = ancestralStep(fromSigma, f(Math.exp(-lt)), eta);
    hStep = f(-f(Math.log(sd)) - ls);
    const wOld = f(1 - fac);
    const wNew = f(fac);
    c1 = f(f(alphaT / alphaS) * f(Math.exp(-hStep)));
    c2 = f(alphaT * f(Math.expm1(-hStep)));
    const next = new Float32Array(n);
    for (let k = 0; k < n; k++) {
      const dd = f(f(wOld * den[k]!) + f(wNew * den2[k]!));
      next[k] = f(c1 * x[k]!) - f(c2 * dd);
    }
    if (stochastic) {
      const eps = draw(noise, s, sn, n);
      for (let k = 0; k < n; k++) next[k] = next[k]! + f(f(f(alphaT * eps[k]!) * sN) * su);
    }
    x = next;
  }
  return x;
}

/** dpmpp_2m_sde (order 2) and dpmpp_3m_sde (order 3): one model call per step. */
async function dpmppMultistepSde(
  fn: string,
  denoise: Denoiser,
  x0: Float32Array,
  sigmasIn: readonly number[],
  options: Dpmpp2mSdeOptions,
  order: 2 | 3,
): Promise<Float32Array> {
  checkSigmas(fn, x0, sigmasIn);
  if (sigmasIn.length <= 1) return x0;
  const solverType = options.solverType ?? 'midpoint';
  if (solverType !== 'midpoint' && solverType !== 'heun') throw new RangeError(`${fn}: solverType must be 'heun' or 'midpoint', got ${String(solverType)}`);
  const eta = options.eta ?? 1;
  const sNoise = options.sNoise ?? 1;
  checkEta(fn, eta, sNoise);
  const noise = brownianTreeNoiseSampler(x0.length, sigmasIn, options);
  const sigmas = offsetFirstSigma(sigmasIn, percentToSigmaOf(options));
  const sN = f(sNoise);
  const etaF = f(eta);
  const n = x0.length;
  let x = x0;
  let d1: Float32Array | null = null; // previous prediction
  let d2: Float32Array | null = null; // the one before
  let h: number | null = null;
  let h1: number | null = null;
  let h2: number | null = null;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const s = sigmas[i]!;
    const sn = sigmas[i + 1]!;
    const den = await evaluate(denoise, x, s, options.signal);
    await report(options, i, sigmas, x, den);
    if (sn === 0) {
      x = Float32Array.from(den);
    } else {
      const ls = halfLogSnr(s);
      const lt = halfLogSnr(sn);
      h = f(lt - ls);
      const alphaT = f(sn * f(Math.exp(lt)));
      const hEta = f(h * f(eta + 1));
      // 1. First-order part: (sn/s) e^(-h eta) x + alpha_t (1 - e^(-h_eta)) D.
      const c1 = f(f(sn / s) * f(Math.exp(f(f(-h) * etaF))));
      const oneMinus = f(-f(Math.expm1(-hEta)));
      const c2 = f(alphaT * oneMinus);
      const next = new Float32Array(n);
      for (let k = 0; k < n; k++) next[k] = f(c1 * x[k]!) + f(c2 * den[k]!);
      // 2. Multistep corrections from earlier predictions.
      if (order === 2 && d1 !== null) {
        const invR = f(1 / f(h1! / h));
        const coef =
          solverType === 'heun'
            ? f(f(alphaT * f(f(oneMinus / f(-hEta)) + 1)) * invR)
            : f(f(f(0.5 * alphaT) * oneMinus) * invR);
        for (let k = 0; k < n; k++) next[k] = next[k]! + f(coef * f(den[k]! - d1[k]!));
      } else if (order === 3 && d1 !== null) {
        const phi2 = f(f(f(Math.expm1(-hEta)) / hEta) + 1);
        const p2 = f(alphaT * phi2);
        if (h2 !== null && d2 !== null) {
          const r0 = f(h1! / h);
          const r1 = f(h2 / h);
          const r01 = f(r0 + r1);
          const p3 = f(alphaT * f(f(phi2 / hEta) - 0.5));
          for (let k = 0; k < n; k++) {
            const d10 = f(f(den[k]! - d1[k]!) / r0);
            const d11 = f(f(d1[k]! - d2[k]!) / r1);
            const diff = f(d10 - d11);
            const dFirst = f(d10 + f(f(diff * r0) / r01));
            const dSecond = f(diff / r01);
            next[k] = f(next[k]! + f(p2 * dFirst)) - f(p3 * dSecond);
          }
        } else {
          const r = f(h1! / h);
          for (let k = 0; k < n; k++) next[k] = next[k]! + f(p2 * f(f(den[k]! - d1[k]!) / r));
        }
      }
      // 3. Noise: eps * sn * sqrt(1 - e^(-2 h eta)) * s_noise.
      if (eta > 0 && sNoise > 0) {
        const g = f(Math.sqrt(f(-f(Math.expm1(f(f(f(-2) * h) * etaF))))));
        const eps = draw(noise, s, sn, n);
        for (let k = 0; k < n; k++) next[k] = next[k]! + f(f(f(eps[k]! * sn) * g) * sN);
      }
      x = next;
    }
    d2 = d1;
    d1 = den;
    h2 = h1;
    h1 = h;
  }
  return x;
}

/**
 * DPM-Solver++ (stochastic), ComfyUI's dpmpp_sde: per step an ancestral half step to the half-log-SNR midpoint
 * (r = 1/2), a second model call there, and an ancestral full step with the blended prediction; two model calls
 * per step (one on the last). Noise from the Brownian tree built on the CPU.
 */
export function sampleDpmppSde(denoise: Denoiser, x: Float32Array, sigmas: readonly number[], options: DpmppSdeOptions = {}): Promise<Float32Array> {
  return dpmppSde(denoise, x, sigmas, options);
}

/**
 * dpmpp_sde_gpu: ComfyUI builds the tree on the sampling device; here it is the CPU stream, equal to ComfyUI on a CPU
 * device (on CUDA ComfyUI's normals are Philox draws, see brownianTreeNoiseSampler).
 */
export function sampleDpmppSdeGpu(denoise: Denoiser, x: Float32Array, sigmas: readonly number[], options: DpmppSdeOptions = {}): Promise<Float32Array> {
  return dpmppSde(denoise, x, sigmas, options);
}

/**
 * DPM-Solver++(2M) SDE: x = (sn/s) e^(-h eta) x + alpha_t (1 - e^(-h (eta+1))) D, a second-order correction from
 * the previous prediction (midpoint by default, or Heun's), then sn sqrt(1 - e^(-2 h eta)) of Brownian noise.
 */
export function sampleDpmpp2mSde(denoise: Denoiser, x: Float32Array, sigmas: readonly number[], options: Dpmpp2mSdeOptions = {}): Promise<Float32Array> {
  return dpmppMultistepSde('sampleDpmpp2mSde', denoise, x, sigmas, options, 2);
}

/** dpmpp_2m_sde_gpu (see sampleDpmppSdeGpu for what _gpu means here). */
export function sampleDpmpp2mSdeGpu(denoise: Denoiser, x: Float32Array, sigmas: readonly number[], options: Dpmpp2mSdeOptions = {}): Promise<Float32Array> {
  return dpmppMultistepSde('sampleDpmpp2mSdeGpu', denoise, x, sigmas, options, 2);
}

/** dpmpp_2m_sde_heun: dpmpp_2m_sde with solver_type 'heun'. */
export function sampleDpmpp2mSdeHeun(denoise: Denoiser, x: Float32Array, sigmas: readonly number[], options: Dpmpp2mSdeOptions = {}): Promise<Float32Array> {
  return dpmppMultistepSde('sampleDpmpp2mSdeHeun', denoise, x, sigmas, { solverType: 'heun', ...options }, 2);
}

/** dpmpp_2m_sde_heun_gpu (see sampleDpmppSdeGpu). */
export function sampleDpmpp2mSdeHeunGpu(denoise: Denoiser, x: Float32Array, sigmas: readonly number[], options: Dpmpp2mSdeOptions = {}): Promise<Float32Array> {
  return dpmppMultistepSde('sampleDpmpp2mSdeHeunGpu', denoise, x, sigmas, { solverType: 'heun', ...options }, 2);
}

/**
 * DPM-Solver++(3M) SDE: the 2M SDE step with a third-order correction from the two previous predictions once
 * there are two.
 */
export function sampleDpmpp3mSde(denoise: Denoiser, x: Float32Array, sigmas: readonly number[], options: SdeSamplerOptions = {}): Promise<Float32Array> {
  return dpmppMultistepSde('sampleDpmpp3mSde', denoise, x, sigmas, options, 3);
}

/** dpmpp_3m_sde_gpu (see sampleDpmppSdeGpu). */
export function sampleDpmpp3mSdeGpu(denoise: Denoiser, x: Float32Array, sigmas: readonly number[], options: SdeSamplerOptions = {}): Promise<Float32Array> {
  return dpmppMultistepSde('sampleDpmpp3mSdeGpu', denoise, x, sigmas, options, 3);
}

export const DPMPP_SDE_SAMPLERS: SamplerFamily = {
  dpmpp_sde: plain(sampleDpmppSde),
  dpmpp_sde_gpu: plain(sampleDpmppSdeGpu),
  dpmpp_2m_sde: plain(sampleDpmpp2mSde),
  dpmpp_2m_sde_gpu: plain(sampleDpmpp2mSdeGpu),
  dpmpp_2m_sde_heun: plain(sampleDpmpp2mSdeHeun),
  dpmpp_2m_sde_heun_gpu: plain(sampleDpmpp2mSdeHeunGpu),
  dpmpp_3m_sde: plain(sampleDpmpp3mSde),
  dpmpp_3m_sde_gpu: plain(sampleDpmpp3mSdeGpu),
};
