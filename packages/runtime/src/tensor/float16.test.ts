import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import {
  bfloat16ArrayToFloat32,
  bfloat16BitsToFloat32,
  float16ArrayToFloat32,
  float16BitsToFloat32,
  float32ArrayToFloat16,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
} from './float16.ts';

// Known IEEE-754 binary16 patterns.
const known: Array<[number, number]> = [
  [0, 0x0000],
  [-0, 0x8000],
  [1, 0x3c00],
  [-2, 0xc000],
  [0.5, 0x3800],
  [65504, 0x7bff], // largest finite
  [2 ** -14, 0x0400], // smallest normal
  [2 ** -24, 0x0001], // smallest subnormal
  [1023 * 2 ** -24, 0x03ff], // largest subnormal
  [0.333251953125, 0x3555],
  [Infinity, 0x7c00],
  [-Infinity, 0xfc00],
];

describe('float16', () => {
  it('encodes and decodes known bit patterns', () => {
    for (const [v, bits] of known) {
      expect(float32ToFloat16Bits(v)).toBe(bits);
      expect(Object.is(float16BitsToFloat32(bits), v)).toBe(true);
    }
  });

  it('rounds to nearest, ties to even', () => {
    // 1 + 2^-11 is halfway between 1 (even mantissa) and 1 + 2^-10: ties go to 1.
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00);
    // 1 + 3 * 2^-11 is halfway between 1+2^-10 (odd) and 1+2^-9 (even): goes up.
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    // Just above the halfway point rounds up.
    expect(float32ToFloat16Bits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01);
    // 1/3 -> 0x3555 (round down), 0.1 -> 0x2e66.
    expect(float32ToFloat16Bits(1 / 3)).toBe(0x3555);
    expect(float32ToFloat16Bits(0.1)).toBe(0x2e66);
  });

  it('overflows to inf only past the rounding boundary of 65504', () => {
    expect(float32ToFloat16Bits(65519)).toBe(0x7bff);
    expect(float32ToFloat16Bits(65520)).toBe(0x7c00); // halfway to 65536, ties to even (inf)
    expect(float32ToFloat16Bits(-1e9)).toBe(0xfc00);
  });

  it('handles subnormals and underflow with round-to-even', () => {
    expect(float32ToFloat16Bits(2 ** -25)).toBe(0x0000); // exactly half the smallest subnormal: ties to 0
    expect(float32ToFloat16Bits(2 ** -25 * 1.0001)).toBe(0x0001);
    expect(float32ToFloat16Bits(3 * 2 ** -25)).toBe(0x0002); // 1.5 ulp -> 2 (even)
    expect(float32ToFloat16Bits(5 * 2 ** -25)).toBe(0x0002); // 2.5 ulp -> 2 (even)
    expect(float32ToFloat16Bits(-(2 ** -30))).toBe(0x8000);
    expect(float32ToFloat16Bits(1e-45)).toBe(0x0000); // float32 subnormal
    // Rounding the largest subnormal up carries into the smallest normal.
    expect(float32ToFloat16Bits(1023.75 * 2 ** -24)).toBe(0x0400);
  });

  it('keeps NaN a NaN', () => {
    const bits = float32ToFloat16Bits(NaN);
    expect(bits & 0x7c00).toBe(0x7c00);
    expect(bits & 0x3ff).not.toBe(0);
    expect(float16BitsToFloat32(0x7e00)).toBeNaN();
  });

  it('round-trips every finite half value', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const f = float16ArrayToFloat32(all);
    const back = float32ArrayToFloat16(f);
    const mismatches: number[] = [];
    for (let i = 0; i < 65536; i++) {
      const isNaN = (i & 0x7c00) === 0x7c00 && (i & 0x3ff) !== 0;
      if (!isNaN && back[i] !== i) mismatches.push(i);
    }
    expect(mismatches).toEqual([]);
  });
});

describe('bfloat16', () => {
  it('decodes known patterns exactly', () => {
    expect(bfloat16BitsToFloat32(0x3f80)).toBe(1);
    expect(bfloat16BitsToFloat32(0xc000)).toBe(-2);
    expect(bfloat16BitsToFloat32(0x7f80)).toBe(Infinity);
    expect(bfloat16BitsToFloat32(0x7fc0)).toBeNaN();
    expect(bfloat16BitsToFloat32(0x0001)).toBe(2 ** -133); // smallest subnormal
    expect(bfloat16BitsToFloat32(0x3e80)).toBe(0.25);
    expect(bfloat16ArrayToFloat32(new Uint16Array([0x3f80, 0xbf00, 0x4049]))).toEqual(
      new Float32Array([1, -0.5, 3.140625]),
    );
  });

  it('encodes with round-to-nearest-even', () => {
    expect(float32ToBfloat16Bits(1)).toBe(0x3f80);
    expect(float32ToBfloat16Bits(Math.PI)).toBe(0x4049);
    expect(float32ToBfloat16Bits(1 + 2 ** -8)).toBe(0x3f80); // tie -> even
    expect(float32ToBfloat16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82); // tie -> even (up)
    expect(float32ToBfloat16Bits(NaN) & 0x7fc0).toBe(0x7fc0);
    expect(float32ToBfloat16Bits(3.4e38)).toBe(0x7f80); // rounds past the largest finite bfloat16
  });
});

describe('float16 and bfloat16 vs torch', () => {
  // torch 1.13 .half() / .bfloat16() bits for 3000 wide-range values, rounding ties and specials
  // (scripts/make-reference-fixtures.py).
  const fx = JSON.parse(readFileSync(new URL('./fixtures/float16.json', import.meta.url), 'utf8')) as {
    f32: string;
    f16_bits: number[];
    bf16_bits: number[];
  };
  const buf = Buffer.from(fx.f32, 'base64');
  const values = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));

  it('float32 -> float16 gives torch’s bits for every value', () => {
    const bits = float32ArrayToFloat16(values);
    const wrong = fx.f16_bits.flatMap((b, i) => (bits[i] === b ? [] : [values[i]]));
    expect(wrong).toEqual([]);
    expect(bits.length).toBe(values.length);
  });

  it('float32 -> bfloat16 gives torch’s bits, and back is the truncated float32', () => {
    const wrong = fx.bf16_bits.flatMap((b, i) => (float32ToBfloat16Bits(values[i]!) === b ? [] : [values[i]]));
    expect(wrong).toEqual([]);
    const back = bfloat16ArrayToFloat32(Uint16Array.from(fx.bf16_bits));
    back.forEach((v, i) => expect(Object.is(v, bfloat16BitsToFloat32(fx.bf16_bits[i]!))).toBe(true));
  });
});
