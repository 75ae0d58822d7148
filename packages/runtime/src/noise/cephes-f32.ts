/**
 * Float32 log and sin/cos as torch's CPU `randn` fast path evaluates them: the Cephes single-precision polynomials
 * (range reduction by frexp / by multiples of pi/4 in three parts), vectorised in torch's avx_mathfun and compiled
 * with fused multiply-adds. Every float32 rounding of that code is reproduced here, so `torchRandn` gives torch's
 * bits rather than correctly rounded values (which differ from torch's in about one value in six).
 *
 * fma(a, b, c) in float32 is emulated as fround(a * b + c) in double: the product of two float32 values is exact
 * in double, so only the final double-then-float rounding can differ from a true fused operation, and that needs
 * the double sum to land on a float32 rounding tie (vanishingly rare).
 */

const f32 = Math.fround;
const fma = (a: number, b: number, c: number): number => f32(a * b + c);

const buf = new ArrayBuffer(4);
const fv = new Float32Array(buf);
const uv = new Uint32Array(buf);

// Cephes logf: log(x) = log(m) + e log(2) with m in [sqrt(1/2), sqrt(2)), log(1 + t) by a degree-9 polynomial,
// and log(2) split in two parts (q2 exact in few bits, q1 the remainder).
const SQRTHF = f32(0.707106781186547524);
const LOG_P = [
  7.0376836292e-2, -1.151461031e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1,
  2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1,
].map(f32);
const LOG_Q1 = f32(-2.12194440e-4);
const LOG_Q2 = f32(0.693359375);

/**
 * log(x) for a positive normal float32 x, rounded as torch's vectorised kernel rounds it. (The Box-Muller input
 * 1 - u lies in [2^-24, 1], so zero, negatives and subnormals never reach it.)
 */
export function logF32Torch(x: number): number {
  fv[0] = x;
  const bits = uv[0]!;
  // frexp: mantissa in [0.5, 1), exponent + 1.
  let e = f32(((bits >>> 23) & 0xff) - 127 + 1);
  uv[0] = (bits & 0x807fffff) | 0x3f000000;
  let m = fv[0]!;
  // Below sqrt(1/2) use 2m - 1 and one less in the exponent, so t = m - 1 stays in [-0.29, 0.41].
  if (m < SQRTHF) {
    m = f32(f32(m - 1) + m);
    e = f32(e - 1);
  } else {
    m = f32(m - 1);
  }
  const z = f32(m * m);
  let y = LOG_P[0]!;
  for (let k = 1; k < LOG_P.length; k++) y = fma(y, m, LOG_P[k]!);
  y = f32(y * m);
  y = fma(y, z, f32(e * LOG_Q1));
  y = fma(-z, 0.5, y);
  return fma(e, LOG_Q2, f32(m + y));
}

// Cephes sinf/cosf: reduce by j = nearest even multiple of pi/4, with pi/4 split in three float parts.
const FOPI = f32(1.27323954473516); // 4 / pi
const DP1 = f32(-0.78515625);
const DP2 = f32(-2.4187564849853515625e-4);
const DP3 = f32(-3.77489497744594108e-8);
const COS_P = [2.443315711809948e-5, -1.388731625493765e-3, 4.166664568298827e-2].map(f32);
const SIN_P = [-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1].map(f32);

/** sin and cos of a float32 angle, rounded as torch's vectorised kernel rounds them. Writes [sin, cos] into out. */
export function sincosF32Torch(theta: number, out: Float64Array | Float32Array | number[]): void {
  const negative = theta < 0;
  let x = Math.abs(theta);
  // j = (int(x * 4/pi) + 1) & ~1: the even octant index nearest below-or-at x.
  let j = Math.trunc(f32(x * FOPI));
  j = (j + 1) & ~1;
  const y = j;
  // Extended-precision reduction x - j * pi/4.
  x = fma(y, DP1, x);
  x = fma(y, DP2, x);
  x = fma(y, DP3, x);
  const sinSign = (j & 4) !== 0 !== negative;
  const cosSign = (~(j - 2) & 4) !== 0;
  const usePolyForSin = (j & 2) === 0;

  const z = f32(x * x);
  // cos polynomial: 1 - z/2 + z^2 (c0 z^2 + c1 z + c2), the last multiply fused into the subtraction.
  let yc = fma(COS_P[0]!, z, COS_P[1]!);
  yc = fma(yc, z, COS_P[2]!);
  yc = f32(yc * z);
  yc = fma(yc, z, -f32(z * 0.5));
  yc = f32(yc + 1);
  // sin polynomial: x + x z (s0 z^2 + s1 z + s2).
  let ys = fma(SIN_P[0]!, z, SIN_P[1]!);
  ys = fma(ys, z, SIN_P[2]!);
  ys = f32(ys * z);
  ys = fma(ys, x, x);

  let s = usePolyForSin ? ys : yc;
  let c = usePolyForSin ? yc : ys;
  if (sinSign) s = -s;
  if (cosSign) c = -c;
  out[0] = s;
  out[1] = c;
}
