import { describe, it, expect } from 'vitest';
import { randomCheckpoint, randomWeight } from './random-weights.ts';

describe('randomWeight', () => {
  it('depends only on the name and seed', () => {
    const a = randomWeight('blocks.0.w', [64]);
    expect(randomWeight('blocks.0.w', [64])).toEqual(a);
    expect(randomWeight('blocks.1.w', [64])).not.toEqual(a);
    expect(randomWeight('blocks.0.w', [64], { seed: 1 })).not.toEqual(a);
  });

  it('has roughly the requested mean and std', () => {
    const v = randomWeight('stats', [20000], { mean: 1, std: 0.5 });
    const mean = v.reduce((s, x) => s + x, 0) / v.length;
    const std = Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length);
    expect(Math.abs(mean - 1)).toBeLessThan(0.02);
    expect(Math.abs(std - 0.5)).toBeLessThan(0.02);
  });
});

describe('randomCheckpoint', () => {
  it('reports the values after rounding to the stored dtype', () => {
    const f32 = randomCheckpoint({ w: { shape: [8] } }, 'F32');
    const bf = randomCheckpoint({ w: { shape: [8] } }, 'BF16');
    const hf = randomCheckpoint({ w: { shape: [8] } }, 'F16');
    const exact = f32.values.w!;
    for (let i = 0; i < 8; i++) {
      expect(Math.abs(bf.values.w![i]! - exact[i]!)).toBeLessThanOrEqual(Math.abs(exact[i]!) * 2 ** -8);
      expect(Math.abs(hf.values.w![i]! - exact[i]!)).toBeLessThanOrEqual(Math.abs(exact[i]!) * 2 ** -11 + 2 ** -24);
    }
    expect(bf.values.w).not.toEqual(exact);
    expect(bf.tensors.w!.dtype).toBe('BF16');
    expect((bf.tensors.w!.data as Uint16Array)[0]! << 16).toBe(new Uint32Array(bf.values.w!.buffer)[0]);
  });
});
