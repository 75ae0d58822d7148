/**
 * ComfyUI's schedulers (comfy/samplers.py) for the Flux model sampling, and KSampler's step/denoise handling.
 * Each scheduler is a pure function of the step count (and the model's sigma table) returning steps + 1 sigmas
 * ending in 0, computed with torch's float32 rounding where ComfyUI computes on float32 tensors.
 */

import { betaPpf } from './beta-ppf.ts';
import { FLUX_DEV_SHIFT, fluxSigmaOfTimestep, fluxSigmaTable } from './flux-sigmas.ts';

const f32 = Math.fround;

/** Scheduler names as ComfyUI's KSampler lists them (all implemented here). */
export const SCHEDULER_NAMES = [
  'simple',
  'sgm_uniform',
  'karras',
  'exponential',
  'ddim_uniform',
  'beta',
  'normal',
  'linear_quadratic',
  'kl_optimal',
] as const;
export type SchedulerName = (typeof SCHEDULER_NAMES)[number];

/** Samplers for which ComfyUI computes one extra sigma and drops the penultimate one. */
export const DISCARD_PENULTIMATE_SIGMA_SAMPLERS: ReadonlySet<string> = new Set([
  'dpm_2',
  'dpm_2_ancestral',
  'uni_pc',
  'uni_pc_bh2',
]);

/** The model-side facts a scheduler reads: ModelSamplingFlux's table and its sigma(timestep). */
export interface ModelSamplingFlux {
  /** Ascending float32 sigma table (10000 entries). */
  readonly sigmas: Float32Array;
  /** sigma(timestep) with torch float32 rounding. */
  sigma(timestep: number): number;
}

/** ModelSamplingFlux for a given shift (1.15 for FLUX.1-dev). */
export function modelSamplingFlux(shift: number = FLUX_DEV_SHIFT): ModelSamplingFlux {
  return { sigmas: fluxSigmaTable(shift), sigma: (t) => fluxSigmaOfTimestep(t, shift) };
}

function checkSteps(fn: string, steps: number, min = 1): void {
  if (!Number.isInteger(steps) || steps < min) {
    throw new RangeError(`${fn}: steps must be an integer >= ${min}, got ${steps}; pass a whole step count`);
  }
}

/**
 * torch.linspace(start, end, steps) in float32, rounding like torch's CPU kernel: step = f32((end - start) /
 * (steps - 1)); point i is start + step*i below the halfway index and end - step*(steps-1-i) from it on (so both
 * ends are exact), each a fused multiply-add. Runs of 16 points are filled 8 at a time from a fused base plus
 * f32(k*step), k < 8, with the halfway test made once per 8: that is what the vectorised kernel does, and it moves
 * some values by one float32 ulp.
 */
export function linspaceF32(start: number, end: number, steps: number): Float32Array {
  const out = new Float32Array(steps);
  if (steps === 0) return out;
  const s = f32(start);
  const e = f32(end);
  if (steps === 1) {
    out[0] = s;
    return out;
  }
  const step = f32(f32(e - s) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  // A float32 fma: step * i is exact in double for these sizes, so one double add then fround emulates it.
  const at = (i: number): number => (i < halfway ? f32(s + step * i) : f32(e - step * (steps - i - 1)));
  let i = 0;
  for (; i + 16 <= steps; i += 16) {
    for (const j of [i, i + 8]) {
      const base = at(j);
      for (let k = 0; k < 8; k++) out[j + k] = f32(base + f32(k * step));
    }
  }
  for (; i < steps; i++) out[i] = at(i);
  return out;
}

/** `simple`: evenly spaced indices counted down from the top of the table, then 0. */
export function simpleScheduler(ms: ModelSamplingFlux, steps: number): number[] {
  checkSteps('simpleScheduler', steps);
  const n = ms.sigmas.length;
  const ss = n / steps;
  const out: number[] = [];
  for (let k = 0; k < steps; k++) out.push(ms.sigmas[n - 1 - Math.floor(k * ss)]!);
  out.push(0);
  return out;
}

/**
 * `normal` (and `sgm_uniform` with sgm = true): timesteps linearly spaced in float32 from sigma_max to sigma_min
 * (sgm: steps + 1 points, last dropped), each mapped through sigma(t) again (the shift is re-applied), then 0.
 */
export function normalScheduler(ms: ModelSamplingFlux, steps: number, sgm = false): number[] {
  checkSteps(sgm ? 'sgmUniformScheduler' : 'normalScheduler', steps);
  const start = ms.sigmas[ms.sigmas.length - 1]!; // timestep(sigma_max) == sigma_max for CONST
  const end = ms.sigmas[0]!;
  let appendZero = true;
  let timesteps: Float32Array;
  if (sgm) {
    timesteps = linspaceF32(start, end, steps + 1).subarray(0, steps);
  } else {
    let n = steps;
    // A model whose smallest sigma maps to ~0 already ends at 0: take one more point instead of appending 0.
    if (Math.abs(ms.sigma(end)) <= 1e-5) {
      n += 1;
      appendZero = false;
    }
    timesteps = linspaceF32(start, end, n);
  }
  const out = Array.from(timesteps, (t) => ms.sigma(t));
  if (appendZero) out.push(0);
  return out;
}

/** `sgm_uniform`. */
export function sgmUniformScheduler(ms: ModelSamplingFlux, steps: number): number[] {
  return normalScheduler(ms, steps, true);
}

/** `karras`: (smax^(1/rho) + ramp (smin^(1/rho) - smax^(1/rho)))^rho with rho 7 over a float32 ramp, then 0. */
export function karrasScheduler(ms: ModelSamplingFlux, steps: number, rho = 7): number[] {
  checkSteps('karrasScheduler', steps);
  const smin = ms.sigmas[0]!;
  const smax = ms.sigmas[ms.sigmas.length - 1]!;
  const minInv = smin ** (1 / rho);
  const maxInv = smax ** (1 / rho);
  const ramp = linspaceF32(0, 1, steps);
  const scale = f32(minInv - maxInv);
  const out = Array.from(ramp, (r) => f32(f32(f32(maxInv) + f32(r * scale)) ** rho));
  out.push(0);
  return out;
}

/** `exponential`: exp of a float32 linspace from ln(smax) to ln(smin), then 0. */
export function exponentialScheduler(ms: ModelSamplingFlux, steps: number): number[] {
  checkSteps('exponentialScheduler', steps);
  const smin = ms.sigmas[0]!;
  const smax = ms.sigmas[ms.sigmas.length - 1]!;
  const out = Array.from(linspaceF32(Math.log(smax), Math.log(smin), steps), (v) => f32(Math.exp(v)));
  out.push(0);
  return out;
}

/** `ddim_uniform`: every (10000 // steps)-th table entry from index 1 up, reversed, with 0 first-then-last. */
export function ddimUniformScheduler(ms: ModelSamplingFlux, steps: number): number[] {
  checkSteps('ddimUniformScheduler', steps);
  const table = ms.sigmas;
  let n = steps;
  let sigs: number[];
  if (Math.abs(table[1]!) <= 1e-5) {
    n += 1;
    sigs = [];
  } else {
    sigs = [0];
  }
  const ss = Math.max(Math.floor(table.length / n), 1);
  for (let x = 1; x < table.length; x += ss) sigs.push(table[x]!);
  return sigs.reverse();
}

/**
 * Round half to even, as numpy.rint does: the beta scheduler's index at the median (4999.5) must become 5000.
 */
function rint(v: number): number {
  const r = Math.round(v);
  return Math.abs(v - Math.trunc(v)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Table indices the `beta` scheduler picks: rint(ppf(1 - k/steps; alpha, beta) * (len - 1)) for k < steps. */
export function betaSchedulerIndices(steps: number, tableLength = 10000, alpha = 0.6, beta = 0.6): number[] {
  checkSteps('betaSchedulerIndices', steps);
  if (!(alpha > 0 && beta > 0)) throw new RangeError(`betaSchedulerIndices: alpha and beta must be > 0`);
  const total = tableLength - 1;
  const out: number[] = [];
  for (let k = 0; k < steps; k++) {
    // numpy: 1 - linspace(0, 1, steps, endpoint=False) -> 1 - k * (1 / steps) in double.
    const q = 1 - k * (1 / steps);
    out.push(rint(betaPpf(q, alpha, beta) * total));
  }
  return out;
}

/** `beta` (alpha = beta = 0.6): table entries at beta-quantile indices, consecutive repeats dropped, then 0. */
export function betaScheduler(ms: ModelSamplingFlux, steps: number, alpha = 0.6, beta = 0.6): number[] {
  const out: number[] = [];
  let last = -1;
  for (const idx of betaSchedulerIndices(steps, ms.sigmas.length, alpha, beta)) {
    if (idx !== last) out.push(ms.sigmas[idx]!);
    last = idx;
  }
  out.push(0);
  return out;
}

/** `linear_quadratic` (Mochi): linear to threshold_noise over the first half, quadratic after, times sigma_max. */
export function linearQuadraticScheduler(
  ms: ModelSamplingFlux,
  steps: number,
  thresholdNoise = 0.025,
  linearSteps?: number,
): number[] {
  checkSteps('linearQuadraticScheduler', steps);
  const smax = ms.sigmas[ms.sigmas.length - 1]!;
  let schedule: number[];
  if (steps === 1) {
    schedule = [1, 0];
  } else {
    const ls = linearSteps ?? Math.floor(steps / 2);
    if (!Number.isInteger(ls) || ls < 1 || ls >= steps) {
      throw new RangeError(`linearQuadraticScheduler: linearSteps must be an integer in [1, ${steps - 1}], got ${ls}`);
    }
    const lin: number[] = [];
    for (let i = 0; i < ls; i++) lin.push((i * thresholdNoise) / ls);
    const stepDiff = ls - thresholdNoise * steps;
    const qs = steps - ls;
    const quadCoef = stepDiff / (ls * qs ** 2);
    const linCoef = thresholdNoise / ls - (2 * stepDiff) / qs ** 2;
    const constant = quadCoef * ls ** 2;
    const quad: number[] = [];
    for (let i = ls; i < steps; i++) quad.push(quadCoef * i ** 2 + linCoef * i + constant);
    schedule = [...lin, ...quad, 1].map((x) => 1 - x);
  }
  // torch.FloatTensor(list) * sigma_max: round each to float32, then a float32 multiply.
  return schedule.map((x) => f32(f32(x) * smax));
}

/** `kl_optimal`: tan of a float32 interpolation between atan(smax) and atan(smin), then 0. */
export function klOptimalScheduler(ms: ModelSamplingFlux, steps: number): number[] {
  // ComfyUI divides by steps - 1, so one step gives NaN sigmas there; refuse instead of sampling with NaN.
  checkSteps('klOptimalScheduler', steps, 2);
  const smin = ms.sigmas[0]!;
  const smax = ms.sigmas[ms.sigmas.length - 1]!;
  const aMin = f32(Math.atan(smin));
  const aMax = f32(Math.atan(smax));
  const out: number[] = [];
  for (let i = 0; i < steps; i++) {
    const adj = f32(i / (steps - 1));
    out.push(f32(Math.tan(f32(f32(adj * aMin) + f32(f32(1 - adj) * aMax)))));
  }
  out.push(0);
  return out;
}

/** ComfyUI's calculate_sigmas: the named scheduler's steps + 1 sigmas. */
export function calculateSigmas(ms: ModelSamplingFlux, scheduler: SchedulerName, steps: number): number[] {
  switch (scheduler) {
    case 'simple':
      return simpleScheduler(ms, steps);
    case 'sgm_uniform':
      return sgmUniformScheduler(ms, steps);
    case 'karras':
      return karrasScheduler(ms, steps);
    case 'exponential':
      return exponentialScheduler(ms, steps);
    case 'ddim_uniform':
      return ddimUniformScheduler(ms, steps);
    case 'beta':
      return betaScheduler(ms, steps);
    case 'normal':
      return normalScheduler(ms, steps);
    case 'linear_quadratic':
      return linearQuadraticScheduler(ms, steps);
    case 'kl_optimal':
      return klOptimalScheduler(ms, steps);
    default:
      throw new RangeError(
        `calculateSigmas: unknown scheduler ${JSON.stringify(scheduler)}; use one of ${SCHEDULER_NAMES.join(', ')}`,
      );
  }
}

/** Options of {@link ksamplerSigmas}. */
export interface KSamplerSigmasOptions {
  scheduler: SchedulerName;
  steps: number;
  /** 1 (default) denoises fully; (0, 1) keeps the last steps + 1 sigmas of a longer schedule; <= 0 gives []. */
  denoise?: number;
  /** The sampler name: dpm_2, dpm_2_ancestral, uni_pc and uni_pc_bh2 drop the penultimate sigma. */
  sampler?: string;
  /** Model sampling; FLUX.1-dev's (shift 1.15) by default. */
  modelSampling?: ModelSamplingFlux;
}

/**
 * KSampler.set_steps: the sigmas ComfyUI's KSampler would sample with.
 *
 * 1. denoise > 0.9999 (or unset): the full schedule for `steps`.
 * 2. denoise <= 0: no sigmas (ComfyUI then returns the latent unchanged).
 * 3. otherwise: a schedule for int(steps / denoise) steps, of which the last steps + 1 sigmas are kept.
 *
 * @example
 * ksamplerSigmas({ scheduler: 'simple', steps: 20 }); // [1, 0.98360807, ..., 0.14252935, 0]
 */
export function ksamplerSigmas(options: KSamplerSigmasOptions): number[] {
  const { scheduler, steps, denoise = 1, sampler = '', modelSampling = modelSamplingFlux() } = options;
  checkSteps('ksamplerSigmas', steps);
  if (!(SCHEDULER_NAMES as readonly string[]).includes(scheduler)) {
    throw new RangeError(
      `ksamplerSigmas: unknown scheduler ${JSON.stringify(scheduler)}; use one of ${SCHEDULER_NAMES.join(', ')}`,
    );
  }
  if (Number.isNaN(denoise)) throw new RangeError('ksamplerSigmas: denoise is NaN; pass a number in [0, 1]');
  const discard = DISCARD_PENULTIMATE_SIGMA_SAMPLERS.has(sampler);
  const calc = (n: number): number[] => {
    const sigmas = calculateSigmas(modelSampling, scheduler, discard ? n + 1 : n);
    if (discard) sigmas.splice(sigmas.length - 2, 1);
    return sigmas;
  };
  // 1. Full denoise.
  if (denoise > 0.9999) return calc(steps);
  // 2. Nothing to do.
  if (denoise <= 0) return [];
  // 3. Partial denoise: the tail of a longer schedule.
  const sigmas = calc(Math.trunc(steps / denoise));
  return sigmas.slice(-(steps + 1));
}

/** Options of {@link basicSchedulerSigmas}. */
export interface BasicSchedulerSigmasOptions {
  scheduler: SchedulerName;
  steps: number;
  /** 1 (default) denoises fully; below 1 keeps the last steps + 1 sigmas of a longer schedule; <= 0 gives []. */
  denoise?: number;
  /** Model sampling; FLUX.1-dev's (shift 1.15) by default. */
  modelSampling?: ModelSamplingFlux;
}

/**
 * ComfyUI's BasicScheduler node (custom sampling): like KSampler.set_steps, except that every denoise below 1 takes
 * the tail of an int(steps / denoise) schedule (KSampler treats anything above 0.9999 as 1) and no sampler drops
 * the penultimate sigma (the SAMPLER is not known yet).
 *
 * 1. denoise <= 0: no sigmas.
 * 2. denoise < 1: schedule int(steps / denoise) steps; else steps.
 * 3. Keep the last steps + 1 sigmas.
 */
export function basicSchedulerSigmas(options: BasicSchedulerSigmasOptions): number[] {
  const { scheduler, steps, denoise = 1, modelSampling = modelSamplingFlux() } = options;
  checkSteps('basicSchedulerSigmas', steps);
  if (Number.isNaN(denoise)) throw new RangeError('basicSchedulerSigmas: denoise is NaN; pass a number in [0, 1]');
  // 1.
  if (denoise <= 0) return [];
  // 2.
  const total = denoise < 1 ? Math.trunc(steps / denoise) : steps;
  // 3.
  return calculateSigmas(modelSampling, scheduler, total).slice(-(steps + 1));
}
