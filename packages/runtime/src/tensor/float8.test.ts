import { describe, expect, it } from 'vitest';
import { float32ArrayToFloat8E4M3, float32ToFloat8E4M3Bits, float8E4M3ArrayToFloat32, float8E4M3BitsToFloat32 } from './float8.ts';

// Every finite e4m3fn value, from its bit pattern by the format's definition (bias 7, 3 mantissa bits, subnormals).
const finite = Array.from({ length: 256 }, (_, b) => b).filter((b) => (b & 0x7f) !== 0x7f);
const valueOf = (b: number) => {
  const s = b & 0x80 ? -1 : 1;
  const e = (b >> 3) & 15;
  const m = b & 7;
  return e === 0 ? s * m / 512 : s * (8 + m) * 2 ** (e - 10);
};

describe('float8 e4m3fn', () => {
  it('decodes every bit pattern by the format definition, 0x7f and 0xff as NaN', () => {
    for (const b of finite) expect(float8E4M3BitsToFloat32(b)).toBe(valueOf(b));
    expect(float8E4M3BitsToFloat32(0x7f)).toBeNaN();
    expect(float8E4M3BitsToFloat32(0xff)).toBeNaN();
    expect(float8E4M3BitsToFloat32(0x7e)).toBe(448);
  });

  it('round-trips every finite value', () => {
    for (const b of finite) {
      const back = float32ToFloat8E4M3Bits(valueOf(b));
      // -0 and +0 both decode to a zero; keep the sign bit.
      expect(back).toBe(b);
    }
  });

  it('rounds to the nearest representable value, ties to even mantissa', () => {
    const positives = finite.filter((b) => b < 0x80).map((b) => ({ b, v: valueOf(b) }));
    let seed = 1;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 5000; i++) {
      const x = Math.fround((rand() ** 4) * 460);
      const best = Math.min(...positives.map((p) => Math.abs(p.v - x)));
      const got = valueOf(float32ToFloat8E4M3Bits(x));
      expect(Math.abs(got - x)).toBe(best);
    }
    // Exact midpoints go to the even mantissa: 1.0625 lies between 1 (m=0) and 1.125 (m=1).
    expect(float8E4M3BitsToFloat32(float32ToFloat8E4M3Bits(1.0625))).toBe(1);
    expect(float8E4M3BitsToFloat32(float32ToFloat8E4M3Bits(1.1875))).toBe(1.25);
    expect(float8E4M3BitsToFloat32(float32ToFloat8E4M3Bits(-3 / 1024))).toBe(-2 / 512);
  });

  it('refuses magnitudes the format cannot hold instead of writing NaN weights', () => {
    expect(float8E4M3BitsToFloat32(float32ToFloat8E4M3Bits(460))).toBe(448);
    expect(() => float32ToFloat8E4M3Bits(464)).toThrow(/cannot hold/);
    expect(() => float32ToFloat8E4M3Bits(-1e6)).toThrow(/cannot hold/);
  });

  it('converts arrays both ways', () => {
    const v = Float32Array.from([0.5, -2, 0.013671875, 300]);
    expect([...float8E4M3ArrayToFloat32(float32ArrayToFloat8E4M3(v))]).toEqual([0.5, -2, 0.013671875, 288]);
  });
});
