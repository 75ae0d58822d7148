import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { brownianTreeNoiseSampler, halfLogSnr, offsetFirstSigma, sigmaOfHalfLogSnr } from './sde-common.ts';
import { sampleDpmppSde } from './dpmpp-sde.ts';
import { sampleSeeds3 } from './seeds.ts';
import { decodeF32, referenceRuns, syntheticDenoiser } from './sde-test-support.ts';
import { torchRandn } from '../../noise/torch-randn.ts';
import { percentToSigma } from '../../schedule/flux-sigmas.ts';

// ComfyUI's BrownianTreeNoiseSampler around the tree reference, on 3 values (randn's double path).
const tree = JSON.parse(readFileSync(new URL('../../noise/fixtures/brownian-tree.json', import.meta.url), 'utf8')) as {
  t0: number;
  t1: number;
  noiseSampler: { seed: number; calls: Array<{ sigma: number; sigmaNext: number; f32: string }> };
};

describe('brownianTreeNoiseSampler', () => {
  it('divides the tree increment by sqrt|dt| with the sign of the query, like ComfyUI', () => {
    const ns = brownianTreeNoiseSampler(3, [tree.t1, 0.5, tree.t0, 0], { seed: tree.noiseSampler.seed });
    for (const c of tree.noiseSampler.calls) {
      expect(Array.from(ns(c.sigma, c.sigmaNext, 3)), `${c.sigma} -> ${c.sigmaNext}`).toEqual(Array.from(decodeF32(c.f32)));
    }
    expect(() => ns(0.5, 0.4, 4)).toThrow(/built for 3/);
  });

  it('draws noise in the latent layout and maps it through noiseLayout', async () => {
    // An elementwise model commutes with any permutation of the latent, so sampling a reversed latent with the noise
    // reversed too gives the reversed result (tree noise in dpmpp_sde, default noise in seeds_3).
    const sigmas = referenceRuns('dpmpp_sde')[0]!.sigmas;
    const x0 = torchRandn(1, [256]);
    const reverse = (a: Float32Array) => Float32Array.from(a).reverse();
    for (const sampler of [sampleDpmppSde, sampleSeeds3]) {
      const plainRun = await sampler(syntheticDenoiser, x0, sigmas, { seed: 5 });
      const permuted = await sampler(syntheticDenoiser, reverse(x0), sigmas, { seed: 5, noiseLayout: reverse });
      expect(Array.from(permuted)).toEqual(Array.from(reverse(plainRun)));
    }
  });
});

describe('half-log-SNR helpers (CONST)', () => {
  it('map sigma to log((1 - sigma) / sigma) and back in float32', () => {
    for (const s of [0.9998, 0.5, 0.25, 0.0291, 3.1575e-4]) {
      const l = halfLogSnr(s);
      const fs = Math.fround(s);
      expect(Math.abs(l - Math.log((1 - fs) / fs))).toBeLessThan(1e-6 * Math.max(1, Math.abs(l)));
      expect(Math.abs(sigmaOfHalfLogSnr(l) - Math.fround(s)) / s).toBeLessThan(1e-6);
    }
    expect(halfLogSnr(0)).toBe(Infinity);
    expect(halfLogSnr(1)).toBe(-Infinity);
  });

  it('moves a first sigma of 1 to percent_to_sigma(1e-4) and keeps the rest', () => {
    const moved = offsetFirstSigma([1, 0.5, 0], (p) => percentToSigma(p));
    expect(moved).toEqual([Math.fround(percentToSigma(1e-4)), 0.5, 0]);
    expect(moved[0]).toBeLessThan(1);
    expect(offsetFirstSigma([0.8, 0.5, 0], () => 0)).toEqual([Math.fround(0.8), 0.5, 0]);
  });
});
