/**
 * USO's own timestep schedule (bytedance/USO sampling.get_schedule): t = linspace(1, 0, steps + 1) in float32,
 * shifted by t' = e^mu / (e^mu + (1/t - 1)) with mu linear in a sequence length L. USO feeds L = (W/8)(H/8)/256
 * (64 at 1024x1024, mu ~0.4675), much flatter than FLUX's packed-token count (4096 at 1024x1024, mu 1.15).
 */

import { fluxTimeShiftF32 } from './flux-sigmas.ts';
import { linspaceF32 } from './schedulers.ts';

/** Which sequence length drives mu: USO's reference code ('uso') or FLUX's packed token count ('flux'). */
export type UsoScheduleMode = 'uso' | 'flux';

const BASE_SHIFT = 0.5;
const MAX_SHIFT = 1.15;
const BASE_SEQ = 256;
const MAX_SEQ = 4096;

/** mu for a sequence length: the line through (256, 0.5) and (4096, 1.15), evaluated as m * L + b. */
export function usoMu(seqLen: number): number {
  const m = (MAX_SHIFT - BASE_SHIFT) / (MAX_SEQ - BASE_SEQ);
  const b = BASE_SHIFT - m * BASE_SEQ;
  return m * seqLen + b;
}

/** The sequence length L that {@link usoSchedule} feeds into mu for an image size. */
export function usoSequenceLength(width: number, height: number, mode: UsoScheduleMode): number {
  return mode === 'uso' ? ((width / 8) * (height / 8)) / 256 : Math.floor(height / 16) * Math.floor(width / 16);
}

/**
 * steps + 1 timesteps from 1 down to 0 for USO's Euler loop (x += (t_next - t_curr) * v).
 *
 * 1. Check the options (positive integer steps, positive multiple-of-16 size, known mode).
 * 2. L from the size: mode 'uso' (W/8)(H/8)/256, mode 'flux' (H/16)(W/16).
 * 3. mu = 0.5 + (1.15 - 0.5)(L - 256)/(4096 - 256).
 * 4. t = linspace(1, 0, steps + 1) in float32, shifted with torch's float32 rounding; t = 0 stays 0.
 *
 * @example
 * usoSchedule(25, 1024, 1024, 'uso'); // [1, 0.97455728, 0.94833106, ..., 0]
 */
export function usoSchedule(steps: number, width: number, height: number, mode: UsoScheduleMode): number[] {
  // 1. Options.
  if (!Number.isInteger(steps) || steps < 1) {
    throw new RangeError(`usoSchedule: steps must be an integer >= 1, got ${steps}`);
  }
  for (const [name, v] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0 || v % 16 !== 0) {
      throw new RangeError(`usoSchedule: ${name} must be a positive multiple of 16 (snap it first), got ${v}`);
    }
  }
  if (mode !== 'uso' && mode !== 'flux') {
    throw new RangeError(`usoSchedule: mode must be 'uso' (USO's reference schedule) or 'flux', got ${String(mode)}`);
  }
  // 2.-3. Sequence length and shift.
  const mu = usoMu(usoSequenceLength(width, height, mode));
  // 4. Shifted float32 linspace.
  return Array.from(linspaceF32(1, 0, steps + 1), (t) => fluxTimeShiftF32(mu, t));
}
