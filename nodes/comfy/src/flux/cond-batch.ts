/**
 * ComfyUI's calc_cond_batch for one conditioning stream, areas and masks aside: at each model call, every entry
 * whose timestep range holds the current sigma is evaluated, its denoised prediction is weighted by the entry's
 * strength, and the weighted sum is divided by the summed strengths (plus ComfyUI's 1e-37, so a step where no entry
 * is active predicts zeros, as in ComfyUI). A single entry of strength 1 gives its prediction bit for bit.
 */

import { percentToSigma, type Denoiser, type VelocityModel } from '@uso-studio/runtime';
import type { ConditioningEntry } from './conditioning.ts';

const f32 = Math.fround;
/** ComfyUI starts each stream's counts at ones * 1e-37 (float32), which keeps an all-inactive step from dividing by zero. */
const COUNT_FLOOR = f32(1e-37);

/** One conditioning entry ready to run: its velocity model and where in the schedule it takes part. */
export interface EntryModel {
  velocity: VelocityModel;
  /** ComfyUI's "strength" (1 unless a node set it). */
  strength: number;
  /** The entry is skipped while sigma > timestepStart (ComfyUI's timestep_start = percent_to_sigma(start_percent)). */
  timestepStart?: number;
  /** The entry is skipped while sigma < timestepEnd (ComfyUI's timestep_end = percent_to_sigma(end_percent)). */
  timestepEnd?: number;
}

/** calculate_start_end_timesteps: an entry's start/end percents as sigmas of the MODEL's sampling (shift). */
export function entryTimestepRange(entry: ConditioningEntry, shift: number): Pick<EntryModel, 'timestepStart' | 'timestepEnd'> {
  return {
    ...(entry.start_percent !== undefined ? { timestepStart: percentToSigma(entry.start_percent, shift) } : {}),
    ...(entry.end_percent !== undefined ? { timestepEnd: percentToSigma(entry.end_percent, shift) } : {}),
  };
}

/**
 * get_area_and_mult's timestep test. torch compares the float32 sigma with the Python float after casting the
 * scalar to float32, so both sides are rounded here too.
 */
export function isEntryActive(entry: Pick<EntryModel, 'timestepStart' | 'timestepEnd'>, sigma: number): boolean {
  const s = f32(sigma);
  if (entry.timestepStart !== undefined && s > f32(entry.timestepStart)) return false;
  if (entry.timestepEnd !== undefined && s < f32(entry.timestepEnd)) return false;
  return true;
}

/**
 * The stream's denoiser: D = sum(D_i * strength_i) / (1e-37 + sum(strength_i)) over the active entries, with
 * D_i = x - v_i * sigma (CONST's calculate_denoised), all in float32. ComfyUI batches the entries of a call and sums
 * the chunks of the batch last entry first (it pops them in reverse); the sums here run in that order, which matters
 * only from three active entries on.
 */
export function streamDenoiser(entries: readonly EntryModel[]): Denoiser {
  if (entries.length === 0) throw new Error('a conditioning input is an empty list');
  return async (x, sigma) => {
    const s = f32(sigma);
    const out = new Float32Array(x.length);
    let count = COUNT_FLOOR;
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = entries[i]!;
      if (!isEntryActive(entry, sigma)) continue;
      const v = await entry.velocity(x, sigma);
      const mult = f32(entry.strength);
      for (let k = 0; k < out.length; k++) {
        const denoised = f32(x[k]! - f32(v[k]! * s));
        out[k] = f32(out[k]! + f32(denoised * mult));
      }
      count = f32(count + mult);
    }
    for (let k = 0; k < out.length; k++) out[k] = f32(out[k]! / count);
    return out;
  };
}

/**
 * The same selection and weighting for samplers that step on velocities (USO's loop): sum(v_i * strength_i) /
 * (1e-37 + sum(strength_i)) over the active entries; a single entry of strength 1 gives its velocity unchanged.
 */
export function streamVelocity(entries: readonly EntryModel[]): VelocityModel {
  if (entries.length === 0) throw new Error('a conditioning input is an empty list');
  return async (x, sigma) => {
    const out = new Float32Array(x.length);
    let count = COUNT_FLOOR;
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = entries[i]!;
      if (!isEntryActive(entry, sigma)) continue;
      const v = await entry.velocity(x, sigma);
      const mult = f32(entry.strength);
      for (let k = 0; k < out.length; k++) out[k] = f32(out[k]! + f32(v[k]! * mult));
      count = f32(count + mult);
    }
    for (let k = 0; k < out.length; k++) out[k] = f32(out[k]! / count);
    return out;
  };
}
