import { describe, it, expect } from 'vitest';
import { easyCachePhases, withEasyCache } from './easy-cache.ts';
import { denoiserFromVelocity, sampleEuler, type VelocityModel } from './samplers.ts';
import { ksamplerSigmas } from '../schedule/schedulers.ts';
import { torchRandn } from '../noise/torch-randn.ts';

const shape = [1, 4, 16, 16];

// A smooth synthetic flow model: velocity changes slowly with x and sigma.
function smoothModel(calls: number[]): VelocityModel {
  return async (x, sigma) => {
    calls.push(sigma);
    return x.map((v, i) => Math.fround(0.9 * v - 0.2 * Math.sin(i * 0.01) + 0.05 * sigma));
  };
}

async function run(model: VelocityModel): Promise<Float32Array> {
  const sigmas = ksamplerSigmas({ scheduler: 'simple', steps: 20 });
  return sampleEuler(denoiserFromVelocity(model), torchRandn(1, shape), sigmas);
}

describe('easyCachePhases', () => {
  it('simple/20 with the defaults: steps 4-18 active, 19 past the end', () => {
    const phases = easyCachePhases(ksamplerSigmas({ scheduler: 'simple', steps: 20 }));
    expect(phases).toHaveLength(20);
    expect(phases.slice(0, 4)).toEqual(['before', 'before', 'before', 'before']);
    expect(phases.slice(4, 19).every((p) => p === 'active')).toBe(true);
    expect(phases[19]).toBe('past');
  });
});

describe('withEasyCache', () => {
  it('skips model calls only inside the active window (steps 5..18 of simple/20) and stays close', async () => {
    const sigmas = ksamplerSigmas({ scheduler: 'simple', steps: 20 });
    const plainCalls: number[] = [];
    const reference = await run(smoothModel(plainCalls));

    const cachedCalls: number[] = [];
    const cached = withEasyCache(smoothModel(cachedCalls), { shape });
    const out = await run(cached.model);
    const { skipped, total } = cached.stats();

    expect(total).toBe(20);
    expect(skipped).toBeGreaterThan(0);
    expect(cachedCalls.length).toBe(20 - skipped);
    // Steps 0-3 run before the window, step 4 is the first active step (needs a rate first), step 19 is past the end.
    const skippedSteps = sigmas.slice(0, 20).map((s, i) => (cachedCalls.includes(s) ? -1 : i)).filter((i) => i >= 0);
    expect(skippedSteps.length).toBe(skipped);
    for (const i of skippedSteps) {
      expect(i).toBeGreaterThanOrEqual(5);
      expect(i).toBeLessThanOrEqual(18);
    }
    for (const i of [0, 1, 2, 3, 4, 19]) expect(cachedCalls).toContain(sigmas[i]);

    let maxErr = 0;
    let scale = 0;
    for (let i = 0; i < out.length; i++) {
      maxErr = Math.max(maxErr, Math.abs(out[i]! - reference[i]!));
      scale = Math.max(scale, Math.abs(reference[i]!));
    }
    expect(maxErr / scale).toBeLessThan(0.05);
  });

  it('never skips with threshold 0, and skips more with a larger threshold', async () => {
    const none = withEasyCache(smoothModel([]), { shape, reuseThreshold: 0 });
    await run(none.model);
    expect(none.stats()).toEqual({ skipped: 0, total: 20 });
    const lax = withEasyCache(smoothModel([]), { shape, reuseThreshold: 0.2 });
    await run(lax.model);
    const laxer = withEasyCache(smoothModel([]), { shape, reuseThreshold: 1 });
    await run(laxer.model);
    expect(laxer.stats().skipped).toBeGreaterThan(lax.stats().skipped);
  });

  it('a skipped call returns x plus the cached output-minus-input difference', async () => {
    const cached = withEasyCache(async (x) => x.map((v) => v + 1), { shape: [1, 1, 8, 8], startPercent: 0, endPercent: 1 });
    const x = new Float32Array(64).fill(2);
    await cached.model(x, 0.9); // records diff = 1, no rate yet
    await cached.model(x.map((v) => v + 0.001), 0.8); // measures the rate (1)
    const y = x.map((v) => v + 0.002);
    const out = await cached.model(y, 0.7); // cum = 1 * 0.001 / 3.001 < 0.2: skipped
    expect(cached.stats()).toEqual({ skipped: 1, total: 3 });
    expect(out[0]).toBeCloseTo(y[0]! + 1, 6);
    cached.reset();
    expect(cached.stats()).toEqual({ skipped: 0, total: 0 });
  });

  it('makes the same decisions when the sampler works in a permuted layout', async () => {
    const numel = shape.reduce((a, b) => a * b, 1);
    // A fixed permutation (reversal): element i of the row-major latent sits at numel - 1 - i.
    const where = (i: number) => numel - 1 - i;
    const permute = (x: Float32Array) => x.map((_, i) => x[numel - 1 - i]!);
    const plainCalls: number[] = [];
    const plain = withEasyCache(smoothModel(plainCalls), { shape });
    const reference = await run(plain.model);
    const permutedCalls: number[] = [];
    const inner = smoothModel(permutedCalls);
    // The same model seen through the permutation: it receives permuted x and answers in that layout.
    const permutedModel: VelocityModel = async (x, sigma) => permute(await inner(permute(x), sigma));
    const permuted = withEasyCache(permutedModel, { shape, layout: where });
    const sigmas = ksamplerSigmas({ scheduler: 'simple', steps: 20 });
    const out = permute(await sampleEuler(denoiserFromVelocity(permuted.model), permute(torchRandn(1, shape)), sigmas));
    expect(permuted.stats()).toEqual(plain.stats());
    expect(plain.stats().skipped).toBeGreaterThan(0);
    expect(permutedCalls).toEqual(plainCalls);
    expect(Array.from(out)).toEqual(Array.from(reference));
  });

  it('checks its options', () => {
    const m: VelocityModel = async (x) => x;
    expect(() => withEasyCache(m, { shape: [4] })).toThrow(/\[1, 16, 128, 128\]/);
    expect(() => withEasyCache(m, { shape, startPercent: 2 })).toThrow(/\[0, 1\]/);
    expect(() => withEasyCache(m, { shape, subsampleFactor: 0 })).toThrow(/>= 1/);
  });
});
