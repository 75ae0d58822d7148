/**
 * Per-step scalar pieces several samplers share, in float32 like ComfyUI's 0-dim sigma tensors: k-diffusion's
 * Euler step, ancestral step (VE form), its rectified-flow form for CONST models, log-sigma time, and Python's min/max/
 * nan_to_num semantics where NaN or infinity can reach them.
 */

import { checkLength, defaultNoiseSampler, f, type NoiseSampler, type NoisySamplerOptions } from './common.ts';

/** float32's largest finite value (torch.nan_to_num's default for infinities). */
const F32_MAX = 3.4028234663852886e38;

/** Python's `min(a, b)`: b only when b < a (a NaN b keeps a). */
export const pyMin = (a: number, b: number): number => (b < a ? b : a);

/** torch.nan_to_num(x, nan=0.0) for a float32 value. */
export const nanToNum = (x: number): number => (Number.isNaN(x) ? 0 : x === Infinity ? F32_MAX : x === -Infinity ? -F32_MAX : x);

/** t = -log(sigma) (sigma 0 gives +inf). */
export const tOfSigma = (sigma: number): number => -f(Math.log(sigma));
/** sigma = exp(-t). */
export const sigmaOfT = (t: number): number => f(Math.exp(-t));

/**
 * k-diffusion's get_ancestral_step: sigma_up = min(to, eta sqrt(to^2 (from^2 - to^2) / from^2)),
 * sigma_down = sqrt(to^2 - up^2). eta 0 gives (to, 0) without any arithmetic.
 */
export function ancestralStep(from: number, to: number, eta: number): { down: number; up: number } {
  if (!eta) return { down: to, up: 0 };
  const to2 = f(to * to);
  const from2 = f(from * from);
  const up = pyMin(to, f(f(eta) * f(Math.sqrt(f(f(to2 * f(from2 - to2)) / from2)))));
  return { down: f(Math.sqrt(f(to2 - f(up * up)))), up };
}

/**
 * The rectified-flow ancestral step ComfyUI's *_RF samplers use for CONST models: sigma_down = s'(1 + (s'/s - 1) eta),
 * alpha' = 1 - s', alpha_down = 1 - sigma_down, renoise = sqrt(s'^2 - sigma_down^2 alpha'^2 / alpha_down^2).
 */
export interface RfAncestralStep {
  down: number;
  alphaNext: number;
  alphaDown: number;
  renoise: number;
}

export function rfAncestralStep(s: number, sn: number, eta: number): RfAncestralStep {
  const down = f(sn * f(1 + f(f(f(sn / s) - 1) * f(eta))));
  const alphaNext = f(1 - sn);
  const alphaDown = f(1 - down);
  const renoise = f(Math.sqrt(f(f(sn * sn) - f(f(f(down * down) * f(alphaNext * alphaNext)) / f(alphaDown * alphaDown)))));
  return { down, alphaNext, alphaDown, renoise };
}

/** One Euler step, x + ((x - D) / sigma) dt per element, rounded in float32 as k-diffusion's tensor ops are. */
export function eulerStep(x: Float32Array, den: Float32Array, sigma: number, dt: number): Float32Array<ArrayBuffer> {
  const out = new Float32Array(x.length);
  for (let k = 0; k < x.length; k++) out[k] = x[k]! + f(f(f(x[k]! - den[k]!) / sigma) * dt);
  return out;
}

/** The rectified-flow re-noise after a step to sigma_down: (alpha'/alpha_down) x + eps s_noise renoise, per element. */
export function rfRenoise(x: Float32Array, step: RfAncestralStep, eps: Float32Array, sNoise: number): Float32Array<ArrayBuffer> {
  const scale = f(step.alphaNext / step.alphaDown);
  const sN = f(sNoise);
  const out = new Float32Array(x.length);
  for (let k = 0; k < x.length; k++) out[k] = f(scale * x[k]!) + f(f(eps[k]! * sN) * step.renoise);
  return out;
}

/** The options' noise sampler, or ComfyUI's default one seeded with the KSampler seed; checks each draw's length. */
export function noiseSource(options: NoisySamplerOptions): (sigma: number, sigmaNext: number, length: number) => Float32Array {
  const sampler: NoiseSampler = options.noiseSampler ?? defaultNoiseSampler(options.seed ?? 0);
  return (sigma, sigmaNext, length) => {
    const eps = sampler(sigma, sigmaNext, length);
    checkLength('noise sampler', eps, length);
    return eps;
  };
}

/** Throws unless eta is a non-negative number. */
export function checkEta(fn: string, eta: number): void {
  if (!(eta >= 0)) throw new RangeError(`${fn}: eta must be >= 0, got ${eta}`);
}
