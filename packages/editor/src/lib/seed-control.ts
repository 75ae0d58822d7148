/**
 * ComfyUI's `control_after_generate`: after a prompt is queued, a seed moves on by its mode so the next queue differs.
 */
import type { ControlMode } from './object-info.ts';

export interface SeedRange { min: number; max: number; step: number }

/**
 * The value a seed widget takes after one queue.
 * `random` returns a number in [0, 1); it is a parameter so tests can pin it.
 */
export function nextSeed(value: number, mode: ControlMode | string, range: SeedRange, random: () => number = Math.random): number {
  const step = range.step > 0 ? range.step : 1;
  // ComfyUI caps randomize at 2^50 for 64-bit seeds: larger values do not survive a JS number round trip.
  const hi = Math.min(range.max, 1125899906842624);
  const lo = Math.max(range.min, 0);
  switch (mode) {
    case 'increment':
      return value + step > range.max ? range.min : value + step;
    case 'decrement':
      return value - step < range.min ? range.max : value - step;
    case 'randomize': {
      const slots = Math.floor((hi - lo) / step);
      return lo + Math.floor(random() * (slots + 1)) * step;
    }
    default:
      return value;
  }
}
