import { describe, it, expect } from 'vitest';
import { ancestralStep, nanToNum, noiseSource, pyMin, rfAncestralStep, sigmaOfT, tOfSigma } from './steps.ts';
import { TorchGenerator } from '../../noise/torch-randn.ts';

describe('sampler step helpers', () => {
  it("ancestralStep is k-diffusion's get_ancestral_step (VE form)", () => {
    const { down, up } = ancestralStep(1, 0.5, 1);
    expect(up).toBeCloseTo(Math.sqrt(0.25 * 0.75), 6);
    expect(down).toBeCloseTo(0.25, 6);
    expect(ancestralStep(1, 0.5, 0)).toEqual({ down: 0.5, up: 0 });
    // An infinite sigma_from (CFG++ at sigma 1, where alpha is 0) gives NaN inside: Python's min keeps sigma_to.
    expect(ancestralStep(Infinity, 0.5, 1)).toEqual({ down: 0, up: 0.5 });
  });

  it('rfAncestralStep is the rectified-flow form for CONST models', () => {
    const step = rfAncestralStep(1, 0.5, 1);
    expect(step.down).toBeCloseTo(0.25, 7);
    expect(step.alphaNext).toBeCloseTo(0.5, 7);
    expect(step.alphaDown).toBeCloseTo(0.75, 7);
    expect(step.renoise).toBeCloseTo(Math.sqrt(0.25 - (0.0625 * 0.25) / 0.5625), 6);
    expect(rfAncestralStep(0.7, 0.3, 0).down).toBeCloseTo(0.3, 7);
  });

  it("Python's min and torch's nan_to_num semantics; log-sigma time", () => {
    expect(pyMin(1, NaN)).toBe(1);
    expect(pyMin(1, 0.5)).toBe(0.5);
    expect([nanToNum(NaN), nanToNum(Infinity), nanToNum(-Infinity), nanToNum(2)]).toEqual([0, 3.4028234663852886e38, -3.4028234663852886e38, 2]);
    expect(tOfSigma(0)).toBe(Infinity);
    expect(sigmaOfT(tOfSigma(0.5))).toBeCloseTo(0.5, 7);
  });

  it("noiseSource continues one seeded torch generator (ComfyUI's default_noise_sampler) and checks lengths", () => {
    const noise = noiseSource({ seed: 42 });
    const gen = new TorchGenerator(42);
    expect(Array.from(noise(1, 0.5, 20))).toEqual(Array.from(gen.randn([20])));
    expect(Array.from(noise(0.5, 0.2, 20))).toEqual(Array.from(gen.randn([20])));
    const bad = noiseSource({ noiseSampler: () => new Float32Array(3) });
    expect(() => bad(1, 0.5, 4)).toThrow(/3 values/);
  });
});
