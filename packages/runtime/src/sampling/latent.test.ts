import { describe, it, expect } from 'vitest';
import { Tensor } from '../tensor/tensor.ts';
import { torchRandn, TorchGenerator } from '../noise/torch-randn.ts';
import {
  FLUX_LATENT_FORMAT,
  fixEmptyLatentChannels,
  inverseNoiseScaling,
  isAllZero,
  noiseScaling,
  prepareNoise,
  processLatentIn,
  processLatentOut,
} from './latent.ts';

const f32 = Math.fround;

describe('Flux latent format', () => {
  it('process_in is (z - 0.1159) * 0.3611 and process_out inverts it to float32 precision', () => {
    const z = new Float32Array([0, 1, -2.5, 0.1159]);
    const zin = processLatentIn(z);
    expect(zin[1]).toBe(f32(f32(1 - f32(0.1159)) * f32(0.3611)));
    expect(zin[3]).toBe(0);
    const back = processLatentOut(zin);
    back.forEach((v, i) => expect(v).toBeCloseTo(z[i]!, 6));
    expect(FLUX_LATENT_FORMAT.channels).toBe(16);
  });
});

describe('CONST noise scaling', () => {
  it('mixes sigma * noise + (1 - sigma) * latent and inverts with x / (1 - sigma_last)', () => {
    const noise = new Float32Array([1, -1]);
    const latent = new Float32Array([0.5, 2]);
    expect(Array.from(noiseScaling(0.25, noise, latent))).toEqual([0.625, 1.25]);
    expect(Array.from(noiseScaling(1, noise, latent))).toEqual([1, -1]);
    expect(Array.from(inverseNoiseScaling(0, latent))).toEqual([0.5, 2]);
    expect(inverseNoiseScaling(0.5, latent)[1]).toBe(4);
    expect(() => noiseScaling(0.5, noise, new Float32Array(3))).toThrow(/3/);
  });
});

describe('fixEmptyLatentChannels', () => {
  it('turns an empty 4-channel latent into 16 zero channels and leaves others alone', () => {
    const empty4 = Tensor.zeros([1, 4, 8, 8]);
    const fixed = fixEmptyLatentChannels(empty4);
    expect(fixed.shape).toEqual([1, 16, 8, 8]);
    expect(isAllZero(fixed.data)).toBe(true);
    const filled = Tensor.float32([1, 4, 1, 1], new Float32Array([0, 1, 0, 0]));
    expect(fixEmptyLatentChannels(filled)).toBe(filled);
    const ok16 = Tensor.zeros([1, 16, 2, 2]);
    expect(fixEmptyLatentChannels(ok16)).toBe(ok16);
  });
});

describe('prepareNoise', () => {
  it('is torch.randn(shape) from the seed without batch_index', () => {
    const n = prepareNoise([1, 16, 4, 4], 3407);
    expect(n.shape).toEqual([1, 16, 4, 4]);
    expect(n.data).toEqual(torchRandn(3407, [1, 16, 4, 4]));
  });

  it('with batch_index draws one [1, C, H, W] per index up to the max and keeps the listed ones in order', () => {
    const shape = [2, 16, 2, 2];
    const g = new TorchGenerator(7);
    const draws = [0, 1, 2, 3].map(() => g.randn([1, 16, 2, 2]));
    const n = prepareNoise(shape, 7, [3, 1]);
    expect(n.shape).toEqual([2, 16, 2, 2]);
    expect(n.data.subarray(0, 64)).toEqual(draws[3]);
    expect(n.data.subarray(64)).toEqual(draws[1]);
    expect(() => prepareNoise(shape, 7, [-1])).toThrow(/non-negative/);
  });
});
