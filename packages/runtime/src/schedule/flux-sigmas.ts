/**
 * ComfyUI's ModelSamplingFlux (CONST prediction, shift 1.15 for FLUX.1-dev): the 10000-entry float32 sigma table,
 * the shift function, and percent_to_sigma. The float32 helpers reproduce torch's rounding step by step, because
 * the table is consumed by index and the tests check it bit for bit.
 */

/** FLUX.1-dev's default shift (ModelSamplingFlux); schnell uses a different one. */
export const FLUX_DEV_SHIFT = 1.15;
/** Number of entries in ModelSamplingFlux's sigma table. */
export const FLUX_TABLE_SIZE = 10000;

const f32 = Math.fround;

/** flux_time_shift(mu, sigma, t) = e^mu / (e^mu + (1/t - 1)^sigma), in double precision. */
export function fluxTimeShift(mu: number, sigma: number, t: number): number {
  const e = Math.exp(mu);
  return e / (e + (1 / t - 1) ** sigma);
}

/**
 * flux_time_shift(mu, 1, t) applied to a float32 tensor value the way torch evaluates it:
 * a = f32(1/t), b = f32(a - 1), d = f32(f32(e^mu) + b), result = f32(f32(1/d) * f32(e^mu))
 * (python `scalar / tensor` is `tensor.reciprocal() * scalar`). t = 0 gives 0.
 */
export function fluxTimeShiftF32(mu: number, t: number): number {
  const e = f32(Math.exp(mu));
  const a = f32(1 / f32(t));
  const b = f32(a - 1);
  const d = f32(e + b);
  return f32(f32(1 / d) * e);
}

const tableCache = new Map<number, Float32Array>();

/**
 * ModelSamplingFlux.sigmas: sigma[i] = shift(mu, (i+1)/10000) for i < 10000, ascending (min ~3.1575e-4, max 1).
 * The result is cached per shift and frozen by convention: do not write into it.
 */
export function fluxSigmaTable(shift: number = FLUX_DEV_SHIFT): Float32Array {
  let table = tableCache.get(shift);
  if (!table) {
    table = new Float32Array(FLUX_TABLE_SIZE);
    // torch: arange(1, 10001) / 10000 is one float32 division per entry, which fround of the double quotient equals.
    for (let i = 0; i < FLUX_TABLE_SIZE; i++) table[i] = fluxTimeShiftF32(shift, f32((i + 1) / FLUX_TABLE_SIZE));
    tableCache.set(shift, table);
  }
  return table;
}

/**
 * ModelSamplingFlux.percent_to_sigma: 1 at or below 0 %, 0 at or above 100 %, else shift(1 - percent) in double.
 * Used by EasyCache's window and by ComfyUI's start/end-percent options.
 */
export function percentToSigma(percent: number, shift: number = FLUX_DEV_SHIFT): number {
  if (Number.isNaN(percent)) throw new RangeError('percentToSigma: percent is NaN; pass a number in [0, 1]');
  if (percent <= 0) return 1;
  if (percent >= 1) return 0;
  return fluxTimeShift(shift, 1, 1 - percent);
}

/** ModelSamplingFlux.sigma(timestep) for a float32 timestep (CONST models use timestep == sigma before the shift). */
export function fluxSigmaOfTimestep(timestep: number, shift: number = FLUX_DEV_SHIFT): number {
  return fluxTimeShiftF32(shift, timestep);
}
