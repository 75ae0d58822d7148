import { describe, it, expect } from 'vitest';
import { ksample } from './ksampler.ts';
import { processLatentIn, processLatentOut } from './latent.ts';
import type { Denoiser } from './samplers.ts';

describe('ksample', () => {
  const sigmas = [1, 0.5, 0];

  it('returns the latent untouched for an empty schedule (denoise 0)', async () => {
    const latent = new Float32Array([1, 2]);
    const out = await ksample(async (x) => x, { sampler: 'euler', sigmas: [], latent, noise: new Float32Array(2) });
    expect(Array.from(out)).toEqual([1, 2]);
  });

  it('process_in on a non-empty latent, noise scaling at sigma_0, process_out at the end', async () => {
    const latent = new Float32Array([0.8, -0.4]);
    const inModelSpace = processLatentIn(latent);
    const seen: number[][] = [];
    // A perfect denoiser that returns the model-space latent: the result must be the original latent.
    const perfect: Denoiser = async (x) => {
      seen.push(Array.from(x));
      return inModelSpace;
    };
    const noise = new Float32Array([1, -1]);
    const out = await ksample(perfect, { sampler: 'euler', sigmas, latent, noise });
    // sigma_0 = 1: the first model input is pure noise.
    expect(seen[0]).toEqual([1, -1]);
    out.forEach((v, i) => expect(v).toBeCloseTo(latent[i]!, 6));
  });

  it('skips process_in for an all-zero latent but still applies process_out', async () => {
    const zero = new Float32Array(2);
    const out = await ksample(async () => new Float32Array(2), { sampler: 'euler', sigmas, latent: zero, noise: zero });
    expect(Array.from(out)).toEqual(Array.from(processLatentOut(zero)));
  });

  it('checks the noise length and sampler name', async () => {
    const l = new Float32Array(2);
    await expect(ksample(async (x) => x, { sampler: 'euler', sigmas, latent: l, noise: new Float32Array(3) })).rejects.toThrow(
      /prepareNoise/,
    );
    await expect(ksample(async (x) => x, { sampler: 'foo', sigmas, latent: l, noise: l })).rejects.toThrow(/supported/);
  });
});
