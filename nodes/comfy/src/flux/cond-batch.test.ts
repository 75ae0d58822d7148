import { describe, expect, it } from 'vitest';
import { percentToSigma, Tensor, type VelocityModel } from '@uso-studio/runtime';
import { entryTimestepRange, isEntryActive, streamDenoiser, streamVelocity, type EntryModel } from './cond-batch.ts';

const f = Math.fround;
const x = Float32Array.from([0.5, -1.25, 2, 0.1]);
/** A velocity model that gives a constant vector and counts its calls. */
function constant(values: number[]): VelocityModel & { calls: number } {
  const model = Object.assign(
    async () => {
      model.calls++;
      return Float32Array.from(values);
    },
    { calls: 0 },
  );
  return model;
}
const denoised = (v: number[], sigma: number) => Array.from(x, (xv, k) => f(xv - f(f(v[k]!) * f(sigma))));

describe('streamDenoiser (calc_cond_batch without areas)', () => {
  it('gives a single entry of strength 1 bit for bit', async () => {
    const v = [0.3, 0.7, -0.2, 1e-3];
    const out = await streamDenoiser([{ velocity: constant(v), strength: 1 }])(x, 0.73);
    expect(Array.from(out)).toEqual(denoised(v, 0.73));
  });

  it('averages the denoised predictions by strength, summing the last entry first as ComfyUI does', async () => {
    const a = [1e8, 1, 0, 0];
    const b = [-11, 1, 3, 0];
    const c = [-1e8, 1, 0, 5];
    const sigma = 0.5;
    const entries: EntryModel[] = [
      { velocity: constant(a), strength: 1 },
      { velocity: constant(b), strength: 0.5 },
      { velocity: constant(c), strength: 2 },
    ];
    const out = await streamDenoiser(entries)(x, sigma);
    const [da, db, dc] = [denoised(a, sigma), denoised(b, sigma), denoised(c, sigma)];
    const count = f(f(f(f(1e-37) + 2) + 0.5) + 1);
    const expected = x.map((_, k) => f(f(f(f(0 + f(dc[k]! * 2)) + f(db[k]! * 0.5)) + f(da[k]! * 1)) / count));
    expect(Array.from(out)).toEqual(Array.from(expected));
    // Summing the first entry first rounds the small middle term differently: the order is observable.
    const forward = x.map((_, k) => f(f(f(f(0 + da[k]!) + f(db[k]! * 0.5)) + f(dc[k]! * 2)) / count));
    expect(Array.from(out)).not.toEqual(Array.from(forward));
  });

  it('evaluates only the entries whose range holds sigma, and predicts zeros when none does', async () => {
    const early = constant([1, 1, 1, 1]);
    const late = constant([2, 2, 2, 2]);
    const entries: EntryModel[] = [
      { velocity: early, strength: 1, timestepStart: 1, timestepEnd: 0.6 },
      { velocity: late, strength: 1, timestepStart: 0.4, timestepEnd: 0 },
    ];
    const denoise = streamDenoiser(entries);
    expect(Array.from(await denoise(x, 0.8))).toEqual(denoised([1, 1, 1, 1], 0.8));
    expect(Array.from(await denoise(x, 0.2))).toEqual(denoised([2, 2, 2, 2], 0.2));
    expect(Array.from(await denoise(x, 0.5))).toEqual([0, 0, 0, 0]);
    expect([early.calls, late.calls]).toEqual([1, 1]);
  });

  it('refuses an empty conditioning list', () => {
    expect(() => streamDenoiser([])).toThrow(/empty list/);
  });
});

describe('streamVelocity', () => {
  it('weights velocities like the denoised predictions, and passes a lone entry through', async () => {
    const v = [0.3, 0.7, -0.2, 1e-3];
    expect(Array.from(await streamVelocity([{ velocity: constant(v), strength: 1 }])(x, 0.3))).toEqual(v.map(f));
    const two = await streamVelocity([
      { velocity: constant([1, 2, 3, 4]), strength: 1 },
      { velocity: constant([3, 2, 1, 0]), strength: 3 },
    ])(x, 0.3);
    expect(Array.from(two)).toEqual([2.5, 2, 1.5, 1]);
  });
});

describe('timestep ranges', () => {
  it('turns start/end percents into sigmas of the MODEL (percent_to_sigma) and tests them in float32', () => {
    const entry = { cond: Tensor.zeros([1, 1, 1]), pooled_output: null, start_percent: 0.25, end_percent: 0.75 };
    const range = entryTimestepRange(entry, 1.15);
    expect(range).toEqual({ timestepStart: percentToSigma(0.25, 1.15), timestepEnd: percentToSigma(0.75, 1.15) });
    expect(entryTimestepRange({ cond: entry.cond, pooled_output: null }, 1.15)).toEqual({});
    // percent 0 is sigma 1 and percent 1 is sigma 0: the whole schedule.
    expect(entryTimestepRange({ ...entry, start_percent: 0, end_percent: 1 }, 3)).toEqual({ timestepStart: 1, timestepEnd: 0 });
    expect(isEntryActive(range, range.timestepStart!)).toBe(true);
    expect(isEntryActive(range, range.timestepEnd!)).toBe(true);
    expect(isEntryActive(range, Math.min(1, range.timestepStart! + 1e-3))).toBe(false);
    expect(isEntryActive(range, range.timestepEnd! - 1e-3)).toBe(false);
    // A sigma one double ulp above the bound is the same float32: still active, as torch compares.
    expect(isEntryActive({ timestepStart: 0.3 }, 0.30000000000000004)).toBe(true);
  });
});
