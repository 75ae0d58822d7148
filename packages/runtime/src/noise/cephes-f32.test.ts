import { describe, it, expect } from 'vitest';
import { logF32Torch, sincosF32Torch } from './cephes-f32.ts';

const f32 = Math.fround;

describe('logF32Torch', () => {
  it('is within 2 float32 ulps of the true log over the Box-Muller input range', () => {
    let worstUlps = 0;
    for (let k = 1; k <= 4096; k++) {
      const x = f32(k / 4096) * (k % 7 === 0 ? 2 ** -20 : 1);
      const exact = Math.log(x);
      const ulp = 2 ** (Math.floor(Math.log2(Math.abs(exact) || 1)) - 23);
      worstUlps = Math.max(worstUlps, Math.abs(logF32Torch(x) - exact) / ulp);
    }
    expect(worstUlps).toBeLessThanOrEqual(2);
    expect(logF32Torch(1)).toBe(0);
    expect(logF32Torch(0.5)).toBe(f32(Math.log(0.5)));
  });
});

describe('sincosF32Torch', () => {
  it('is within 2e-7 of sin and cos on [0, 2 pi) and keeps the octant signs', () => {
    const out = new Float64Array(2);
    let worst = 0;
    for (let k = 0; k < 4096; k++) {
      const t = f32((2 * Math.PI * k) / 4096);
      sincosF32Torch(t, out);
      worst = Math.max(worst, Math.abs(out[0]! - Math.sin(t)), Math.abs(out[1]! - Math.cos(t)));
    }
    expect(worst).toBeLessThan(2e-7);
    sincosF32Torch(f32(-1), out);
    expect(out[0]).toBeCloseTo(-Math.sin(1), 6);
    expect(out[1]).toBeCloseTo(Math.cos(1), 6);
  });
});
