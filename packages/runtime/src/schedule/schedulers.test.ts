import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import {
  betaSchedulerIndices,
  calculateSigmas,
  ksamplerSigmas,
  linspaceF32,
  modelSamplingFlux,
  SCHEDULER_NAMES,
  type SchedulerName,
} from './schedulers.ts';

// torch 1.13 CPU values from scripts/make-reference-fixtures.py (ComfyUI's formulas run on torch tensors).
const fx = JSON.parse(readFileSync(new URL('./fixtures/schedules.json', import.meta.url), 'utf8')) as {
  schedulers: Array<{ scheduler: SchedulerName; steps: number; sigmas: number[] }>;
  beta_indices: Array<{ steps: number; indices: number[] }>;
  ksampler: Array<{ scheduler: SchedulerName; sampler: string; steps: number; denoise: number; sigmas: number[] }>;
};

const ms = modelSamplingFlux();

// From comfyui-sampling.md §4 (simple, 20 steps) and the beta scheduler's 20-step indices.
const SIMPLE_20 = [
  1.0, 0.98360807, 0.96601385, 0.94708002, 0.92664737, 0.90453076, 0.88051307, 0.85433817, 0.82570159, 0.79423922,
  0.75951093, 0.72098029, 0.67798674, 0.6297071, 0.57510298, 0.51284409, 0.44119978, 0.35787457, 0.25975841,
  0.14252935, 0,
];
const BETA_20_INDICES = [
  9999, 9873, 9603, 9229, 8770, 8242, 7659, 7032, 6372, 5691, 5000, 4308, 3627, 2967, 2340, 1757, 1229, 770, 396, 126,
];

// Schedulers that only index the table or use float32 arithmetic we reproduce exactly; the others go through
// torch's vectorised pow/exp/tan (SLEEF), which can differ by one float32 ulp.
const BIT_EXACT = new Set<SchedulerName>(['simple', 'normal', 'sgm_uniform', 'ddim_uniform', 'beta', 'linear_quadratic']);

describe('schedulers', () => {
  it('simple, 20 steps, equals the reference', () => {
    const s = calculateSigmas(ms, 'simple', 20);
    expect(s).toHaveLength(21);
    s.forEach((v, i) => expect(Math.abs(v - SIMPLE_20[i]!)).toBeLessThan(5e-9));
  });

  it('beta picks the reference 20-step indices (and the fixture ones for 1..100 steps)', () => {
    expect(betaSchedulerIndices(20)).toEqual(BETA_20_INDICES);
    for (const b of fx.beta_indices) expect(betaSchedulerIndices(b.steps), `${b.steps} steps`).toEqual(b.indices);
  });

  it('every scheduler matches torch for 1..50 steps', () => {
    const seen = new Set<string>();
    for (const c of fx.schedulers) {
      seen.add(c.scheduler);
      const got = calculateSigmas(ms, c.scheduler, c.steps);
      const label = `${c.scheduler} ${c.steps} steps`;
      expect(got, label).toHaveLength(c.sigmas.length);
      if (BIT_EXACT.has(c.scheduler)) {
        expect(got, label).toEqual(c.sigmas);
      } else {
        got.forEach((v, i) => expect(Math.abs(v - c.sigmas[i]!), label).toBeLessThanOrEqual(1.2e-7));
      }
    }
    expect([...seen].sort()).toEqual([...SCHEDULER_NAMES].sort());
  });

  it('all schedules descend to a final 0', () => {
    for (const name of SCHEDULER_NAMES) {
      const s = calculateSigmas(ms, name, 9);
      expect(s.at(-1), name).toBe(0);
      for (let i = 1; i < s.length; i++) expect(s[i]!, name).toBeLessThan(s[i - 1]!);
    }
  });

  it('rejects bad step counts and names with a hint', () => {
    expect(() => calculateSigmas(ms, 'simple', 0)).toThrow(/integer >= 1/);
    expect(() => calculateSigmas(ms, 'simple', 2.5)).toThrow(/whole step count/);
    expect(() => calculateSigmas(ms, 'kl_optimal', 1)).toThrow(/>= 2/);
    expect(() => calculateSigmas(ms, 'nope' as SchedulerName, 4)).toThrow(/use one of simple/);
  });
});

describe('linspaceF32', () => {
  it('keeps both ends exact and has torch’s length semantics', () => {
    expect(Array.from(linspaceF32(0, 1, 5))).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(linspaceF32(3, 7, 1)[0]).toBe(3);
    expect(linspaceF32(0, 1, 0).length).toBe(0);
    const l = linspaceF32(1, 0.00031575, 37);
    expect(l[0]).toBe(1);
    expect(l[36]).toBe(Math.fround(0.00031575));
  });
});

describe('ksamplerSigmas (KSampler.set_steps)', () => {
  it('matches ComfyUI for denoise < 1, denoise 0 and the discard-penultimate samplers', () => {
    for (const k of fx.ksampler) {
      const got = ksamplerSigmas({ scheduler: k.scheduler, sampler: k.sampler, steps: k.steps, denoise: k.denoise });
      const label = `${k.scheduler}/${k.sampler} ${k.steps} steps denoise ${k.denoise}`;
      expect(got, label).toHaveLength(k.sigmas.length);
      got.forEach((v, i) => expect(Math.abs(v - k.sigmas[i]!), label).toBeLessThanOrEqual(1.2e-7));
    }
  });

  it('denoise 0.75 keeps the tail of a 26-step schedule; denoise <= 0 gives nothing', () => {
    const full26 = calculateSigmas(ms, 'simple', 26);
    expect(ksamplerSigmas({ scheduler: 'simple', steps: 20, denoise: 0.75 })).toEqual(full26.slice(-21));
    expect(ksamplerSigmas({ scheduler: 'simple', steps: 20, denoise: 0 })).toEqual([]);
    expect(ksamplerSigmas({ scheduler: 'simple', steps: 20, denoise: 0.99995 })).toEqual(calculateSigmas(ms, 'simple', 20));
  });

  it('dpm_2 computes steps + 1 and drops the penultimate sigma', () => {
    const s21 = calculateSigmas(ms, 'simple', 21);
    expect(ksamplerSigmas({ scheduler: 'simple', steps: 20, sampler: 'dpm_2' })).toEqual([...s21.slice(0, -2), 0]);
  });

  it('checks options up front', () => {
    expect(() => ksamplerSigmas({ scheduler: 'simpel' as SchedulerName, steps: 20 })).toThrow(/use one of/);
    expect(() => ksamplerSigmas({ scheduler: 'simple', steps: 20, denoise: NaN })).toThrow(/denoise/);
  });
});
