/**
 * k-diffusion samplers as ComfyUI runs them for CONST (rectified-flow) models such as FLUX: pure async functions
 * over a denoiser callback, with no hidden state beyond one call. Each returns the final latent and never writes
 * into its input.
 *
 * Conventions: `x` is the flattened latent (float32, the model's layout), `sigmas` is a descending schedule
 * (usually ending in 0), `denoise(x, sigma)` returns the model's denoised prediction D. For a velocity model
 * v(x, sigma), D = x - v * sigma ({@link denoiserFromVelocity}).
 *
 * Arithmetic follows ComfyUI's float32 tensor expressions operation by operation (sigmas are float32 0-dim tensors
 * there, so even the per-step coefficients are rounded to float32), which makes the results bit-identical to
 * ComfyUI on the CPU for the same model outputs (dpmpp_2m's log/exp/expm1 aside, which may differ in rare last bits).
 */

import { TorchGenerator } from '../noise/torch-randn.ts';

const f = Math.fround;

/** The model as samplers see it: latent and sigma in, denoised prediction D out (same length as x). */
export type Denoiser = (x: Float32Array, sigma: number) => Promise<Float32Array>;
/** A flow model: latent and sigma (== timestep) in, velocity out. */
export type VelocityModel = (x: Float32Array, sigma: number) => Promise<Float32Array>;
/** Noise for the ancestral/LCM steps: one standard-normal draw of `length` values per call. */
export type NoiseSampler = (sigma: number, sigmaNext: number, length: number) => Float32Array;

/** What a step callback sees (ComfyUI's callback dict): arrays are live, copy them before keeping them. */
export interface SamplerStep {
  /** Step index, 0-based. */
  i: number;
  /** Total number of steps (sigmas.length - 1). */
  total: number;
  sigma: number;
  sigmaNext: number;
  /** The latent the model was evaluated at. */
  x: Float32Array;
  /** The model's denoised prediction at this step (useful for previews). */
  denoised: Float32Array;
}

/** Options every sampler takes. */
export interface SamplerOptions {
  /** Called once per step, after the model call; awaited, so it may send progress or previews. */
  callback?: (step: SamplerStep) => void | Promise<void>;
  /** Aborts between model calls with the signal's reason. */
  signal?: AbortSignal;
}

/** Options of the samplers that add noise (euler_ancestral, lcm). */
export interface NoisySamplerOptions extends SamplerOptions {
  /**
   * Seed of ComfyUI's default_noise_sampler: a CPU torch.Generator seeded with the KSampler seed, one new
   * randn(x.shape) per noisy step. (On a GPU ComfyUI draws from CUDA's Philox instead; this reproduces CPU runs.)
   */
  seed?: number | bigint;
  /** Overrides the seeded default noise sampler. */
  noiseSampler?: NoiseSampler;
}

/** Options of euler_ancestral. */
export interface AncestralOptions extends NoisySamplerOptions {
  /** Ancestral strength; 1 (default) is ComfyUI's default. */
  eta?: number;
  /** Noise multiplier (s_noise), 1 by default. */
  sNoise?: number;
}

/** A sampler function: same shape for all of them. */
export type Sampler = (
  denoise: Denoiser,
  x: Float32Array,
  sigmas: readonly number[],
  options?: AncestralOptions,
) => Promise<Float32Array>;

/**
 * Wraps a velocity model as a CONST denoiser: D = x - v * sigma (float32).
 *
 * @example
 * const denoise = denoiserFromVelocity(async (x, s) => runFlux(x, s));
 * const out = await sampleEuler(denoise, noised, sigmas);
 */
export function denoiserFromVelocity(model: VelocityModel): Denoiser {
  return async (x, sigma) => {
    const v = await model(x, sigma);
    checkLength('velocity model', v, x.length);
    const s = Math.fround(sigma);
    const out = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = x[i]! - Math.fround(v[i]! * s);
    return out;
  };
}

/**
 * ComfyUI's default_noise_sampler on the CPU: a generator seeded once, a fresh randn per call.
 */
export function defaultNoiseSampler(seed: number | bigint): NoiseSampler {
  const gen = new TorchGenerator(seed);
  return (_sigma, _sigmaNext, length) => gen.randn([length]);
}

function checkLength(what: string, a: Float32Array, n: number): void {
  if (a.length !== n) throw new RangeError(`${what} returned ${a.length} values for a latent of ${n}`);
}

function checkSigmas(fn: string, x: Float32Array, sigmas: readonly number[]): void {
  if (!(x instanceof Float32Array)) throw new TypeError(`${fn}: x must be a Float32Array`);
  for (let i = 0; i < sigmas.length; i++) {
    const s = sigmas[i]!;
    if (!Number.isFinite(s) || s < 0) {
      throw new RangeError(`${fn}: sigmas[${i}] = ${s}; pass finite, non-negative sigmas (use ksamplerSigmas)`);
    }
  }
}

async function evaluate(
  denoise: Denoiser,
  x: Float32Array,
  sigma: number,
  signal: AbortSignal | undefined,
): Promise<Float32Array> {
  signal?.throwIfAborted();
  const d = await denoise(x, sigma);
  checkLength('denoiser', d, x.length);
  return d;
}

async function report(
  options: SamplerOptions,
  i: number,
  sigmas: readonly number[],
  x: Float32Array,
  denoised: Float32Array,
): Promise<void> {
  if (options.callback) {
    await options.callback({ i, total: sigmas.length - 1, sigma: sigmas[i]!, sigmaNext: sigmas[i + 1]!, x, denoised });
  }
}

/**
 * Euler (s_churn 0): d = (x - D) / sigma, x += d * (sigma_next - sigma).
 */
export async function sampleEuler(
  denoise: Denoiser,
  x0: Float32Array,
  sigmas: readonly number[],
  options: SamplerOptions = {},
): Promise<Float32Array> {
  checkSigmas('sampleEuler', x0, sigmas);
  let x = x0;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const s = f(sigmas[i]!);
    const sn = f(sigmas[i + 1]!);
    const den = await evaluate(denoise, x, s, options.signal);
    await report(options, i, sigmas, x, den);
    const dt = f(sn - s);
    const next = new Float32Array(x.length);
    // x + ((x - D) / s) * dt
    for (let k = 0; k < x.length; k++) next[k] = x[k]! + f(f(f(x[k]! - den[k]!) / s) * dt);
    x = next;
  }
  return x;
}

/**
 * Euler ancestral, rectified-flow variant (ComfyUI uses it for CONST models). Per step, with s = sigma_i,
 * s' = sigma_{i+1}:
 * 1. s' == 0: x = D.
 * 2. sd = s' (1 + (s'/s - 1) eta); a1 = 1 - s'; ad = 1 - sd; c = sqrt(s'^2 - sd^2 a1^2 / ad^2).
 * 3. x = (sd/s) x + (1 - sd/s) D, then (eta > 0) x = (a1/ad) x + eps * s_noise * c, eps a fresh standard normal.
 */
export async function sampleEulerAncestral(
  denoise: Denoiser,
  x0: Float32Array,
  sigmas: readonly number[],
  options: AncestralOptions = {},
): Promise<Float32Array> {
  checkSigmas('sampleEulerAncestral', x0, sigmas);
  const eta = options.eta ?? 1;
  const sNoise = options.sNoise ?? 1;
  if (!(eta >= 0)) throw new RangeError(`sampleEulerAncestral: eta must be >= 0, got ${eta}`);
  const noise = options.noiseSampler ?? defaultNoiseSampler(options.seed ?? 0);
  let x = x0;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const s = f(sigmas[i]!);
    const sn = f(sigmas[i + 1]!);
    const den = await evaluate(denoise, x, s, options.signal);
    await report(options, i, sigmas, x, den);
    // 1. Last step lands on the prediction.
    if (sn === 0) {
      x = Float32Array.from(den);
      continue;
    }
    // 2. Down-step and re-noise coefficients, each a float32 0-dim tensor op in ComfyUI.
    const downRatio = f(1 + f(f(f(sn / s) - 1) * f(eta)));
    const sd = f(sn * downRatio);
    const a1 = f(1 - sn);
    const ad = f(1 - sd);
    const c = f(Math.sqrt(f(f(sn * sn) - f(f(f(sd * sd) * f(a1 * a1)) / f(ad * ad)))));
    // 3. Euler to sigma_down, then scale up and add fresh noise.
    const r = f(sd / s);
    const oneMinusR = f(1 - r);
    const scale = f(a1 / ad);
    const eps = eta > 0 ? noise(s, sn, x.length) : null;
    if (eps) checkLength('noise sampler', eps, x.length);
    const sN = f(sNoise);
    const next = new Float32Array(x.length);
    for (let k = 0; k < x.length; k++) {
      const y = f(f(r * x[k]!) + f(oneMinusR * den[k]!));
      next[k] = eps ? f(scale * y) + f(f(eps[k]! * sN) * c) : y;
    }
    x = next;
  }
  return x;
}

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
 * LCM: x = D, then (unless sigma_next is 0) re-noise to sigma_next with CONST noise scaling:
 * x = sigma_next * eps + (1 - sigma_next) * x.
 */
export async function sampleLcm(
  denoise: Denoiser,
  x0: Float32Array,
  sigmas: readonly number[],
  options: NoisySamplerOptions = {},
): Promise<Float32Array> {
  checkSigmas('sampleLcm', x0, sigmas);
  const noise = options.noiseSampler ?? defaultNoiseSampler(options.seed ?? 0);
  let x = x0;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const s = f(sigmas[i]!);
    const sn = f(sigmas[i + 1]!);
    const den = await evaluate(denoise, x, s, options.signal);
    await report(options, i, sigmas, x, den);
    if (sn > 0) {
      const eps = noise(s, sn, x.length);
      checkLength('noise sampler', eps, x.length);
      const sf = f(sn);
      const keep = f(1 - sf);
      const next = new Float32Array(x.length);
      for (let k = 0; k < x.length; k++) next[k] = f(sf * eps[k]!) + f(keep * den[k]!);
      x = next;
    } else {
      x = Float32Array.from(den);
    }
  }
  return x;
}

/** Sampler names this module implements, as ComfyUI names them. */
export const SAMPLERS = {
  euler: sampleEuler,
  euler_ancestral: sampleEulerAncestral,
  heun: sampleHeun,
  dpmpp_2m: sampleDpmpp2m,
  lcm: sampleLcm,
} as const satisfies Record<string, Sampler>;
export type SamplerName = keyof typeof SAMPLERS;

/** Looks a sampler up by its ComfyUI name, with a message listing the supported ones. */
export function getSampler(name: string): Sampler {
  if (!Object.hasOwn(SAMPLERS, name)) {
    throw new RangeError(`unknown sampler ${JSON.stringify(name)}; supported: ${Object.keys(SAMPLERS).join(', ')}`);
  }
  return SAMPLERS[name as SamplerName];
}
