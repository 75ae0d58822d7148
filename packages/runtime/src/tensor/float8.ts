/**
 * float8 e4m3fn bit conversions (torch.float8_e4m3fn, safetensors F8_E4M3): 1 sign, 4 exponent (bias 7), 3 mantissa
 * bits, no infinities, 0x7f/0xff are NaN, largest finite 448. Used to write tiny fp8 test checkpoints and to read
 * their values back for references; model graphs never convert weights in JavaScript.
 */

const MAX_FINITE = 448;

/**
 * A number -> e4m3fn bits, rounding to nearest even like torch's `.to(torch.float8_e4m3fn)`. Magnitudes that round
 * beyond 448 have no encoding (the format has no infinity; torch would give NaN), so they are refused instead of
 * silently producing NaN weights.
 */
export function float32ToFloat8E4M3Bits(value: number): number {
  if (Number.isNaN(value)) return 0x7f;
  const sign = value < 0 || Object.is(value, -0) ? 0x80 : 0;
  const a = Math.abs(Math.fround(value));
  // 464 is the midpoint between 448 and the next (missing) step 480; ties go to the odd NaN code, so refuse it too.
  if (a >= 464) throw new RangeError(`float8 e4m3fn cannot hold ${value} (largest finite value is ${MAX_FINITE})`);
  if (a === 0) return sign;
  // Subnormals: multiples of 2^-9 below 2^-6.
  if (a < 2 ** -6) {
    const m = roundHalfEven(a / 2 ** -9); // 0..8; 8 is the smallest normal
    return sign | m;
  }
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e -= 1; // guard log2 rounding
  if (2 ** (e + 1) <= a) e += 1;
  let m = roundHalfEven((a / 2 ** e - 1) * 8); // 0..8
  if (m === 8) {
    m = 0;
    e += 1;
  }
  const bits = ((e + 7) << 3) | m;
  // Values in (448, 464) round to 448: bits 0x7f would be NaN.
  return sign | Math.min(bits, 0x7e);
}

/** e4m3fn bits -> the exact number they represent (NaN for 0x7f / 0xff). */
export function float8E4M3BitsToFloat32(bits: number): number {
  const sign = bits & 0x80 ? -1 : 1;
  const exp = (bits >>> 3) & 0x0f;
  const mant = bits & 0x07;
  if (exp === 0x0f && mant === 0x07) return NaN;
  if (exp === 0) return sign * mant * 2 ** -9;
  return sign * (1 + mant / 8) * 2 ** (exp - 7);
}

/** Element-wise float32 -> e4m3fn bits. */
export function float32ArrayToFloat8E4M3(src: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = float32ToFloat8E4M3Bits(src[i]!);
  return out;
}

/** Element-wise e4m3fn bits -> float32. */
export function float8E4M3ArrayToFloat32(src: Uint8Array): Float32Array {
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = float8E4M3BitsToFloat32(src[i]!);
  return out;
}

function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const rest = x - f;
  if (rest > 0.5) return f + 1;
  if (rest < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}
